"""Where the Apache Kafka jars come from: ``KAFKA_HOME``, the per-user jar cache, or Maven Central.

First start: ``mvn dependency:copy-dependencies`` on ``deploy/kafka/pom.xml``
fills ``~/.cache/heroes-hub/kafka-<version>/lib`` (``HUB_KAFKA_LIB`` overrides
the place). It downloads into a sibling folder and renames it into place, so an
interrupted download is never mistaken for a complete one; later starts
download nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from hub.broker._errors import EngineUnavailable

DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
POM = DEPLOY_DIR / "pom.xml"
LOG4J_CONFIG = DEPLOY_DIR / "log4j2.properties"

Progress = Callable[[str], None]
_DOWNLOADED = re.compile(r"Downloaded from \S+: \S+/([^/\s]+) ")


def kafka_version() -> str:
    """The Kafka version pinned in ``deploy/kafka/pom.xml`` (its ``kafka.version`` property)."""
    try:
        match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    except OSError as exc:
        raise EngineUnavailable(f"{POM} is missing: run the hub from its repository clone, or set KAFKA_HOME") from exc
    if not match:
        raise EngineUnavailable(f"{POM} has no <kafka.version> property")
    return match.group(1).strip()


def installed_kafka_libs() -> Path | None:
    """``$KAFKA_HOME/libs`` when KAFKA_HOME points at an unpacked Apache Kafka."""
    home = os.environ.get("KAFKA_HOME")
    if not home:
        return None
    libs = Path(home).expanduser() / "libs"
    return libs if _has_kafka_jar(libs) else None


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/heroes-hub`` (default ``~/.cache/heroes-hub``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "heroes-hub"


def cache_lib_dir() -> Path:
    """``HUB_KAFKA_LIB``, else ``<cache root>/kafka-<version>/lib``."""
    override = os.environ.get("HUB_KAFKA_LIB")
    if override:
        return Path(override).expanduser()
    return cache_root() / f"kafka-{kafka_version()}" / "lib"


def maven() -> str | None:
    return shutil.which("mvn")


def jar_source() -> tuple[str | None, str]:
    """Where the jars would come from (None if nowhere), and a phrase saying so."""
    libs = installed_kafka_libs()
    if libs:
        return str(libs), f"KAFKA_HOME={os.environ['KAFKA_HOME']}"
    try:
        lib = cache_lib_dir()
    except EngineUnavailable as exc:
        return None, str(exc)
    if _has_kafka_jar(lib):
        return str(lib), f"cached jars in {lib}"
    if maven():
        return str(lib), f"Maven downloads Kafka {kafka_version()} into {lib} (first start only)"
    return None, f"no Maven (mvn) to download the Kafka jars, no jar cache at {lib} and no KAFKA_HOME"


def resolve_classpath(progress: Progress) -> str:
    """The ``-cp`` value for ``java``, downloading the jars first if needed."""
    libs = installed_kafka_libs()
    if libs is None:
        libs = cache_lib_dir()
        if not _has_kafka_jar(libs):
            _download(libs, progress)
    return str(libs / "*")


def _has_kafka_jar(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("kafka_2.13-*.jar"))


def _download(target: Path, progress: Progress) -> None:
    mvn = maven()
    if not mvn:
        raise EngineUnavailable(f"the Kafka jars are not in {target} and Maven (mvn) is not installed: install Maven, or set KAFKA_HOME")
    version = kafka_version()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    progress(f"downloading Apache Kafka {version} jars from Maven Central into {target} (first start only)")
    argv = [mvn, "-B", "-f", str(POM), "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={partial}"]
    try:
        _run_maven(argv, progress)
        _move_into_place(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    progress(f"Kafka {version} jars ready in {target}")


def _run_maven(argv: list[str], progress: Progress) -> None:
    """Run Maven, turning its "Downloaded from" lines into a progress line every few seconds."""
    tail: deque[str] = deque(maxlen=25)
    started = last = time.monotonic()
    files = 0
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        tail.append(line.rstrip())
        downloaded = _DOWNLOADED.search(line)
        if downloaded:
            files += 1
            now = time.monotonic()
            if now - last >= 3:
                last = now
                progress(f"Maven: {files} files downloaded in {now - started:.0f}s (last: {downloaded.group(1)})")
    code = proc.wait()
    if code != 0:
        output = "\n".join(tail)
        raise EngineUnavailable(
            f"Maven could not resolve the Kafka jars (exit {code}); check access to Maven Central "
            f"(or your ~/.m2/settings.xml mirror), or set KAFKA_HOME to an installed Kafka\n{output}"
        )


def _move_into_place(partial: Path, target: Path) -> None:
    """Rename the finished download into place; a concurrent start that got there first wins."""
    if not _has_kafka_jar(partial):
        raise EngineUnavailable(f"Maven finished but {partial} holds no kafka_2.13 jar")
    try:
        os.rename(partial, target)
    except OSError:
        if _has_kafka_jar(target):
            return
        target.mkdir(parents=True, exist_ok=True)
        for jar in partial.iterdir():
            os.replace(jar, target / jar.name)
