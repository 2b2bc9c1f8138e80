"""Set up the hub's virtual environment on the fastest CPython 3.11 of this machine.

    python3 deploy/install.py            # .venv with the hub: then .venv/bin/hub up
    python3 deploy/install.py --test     # .venv with the hub and its test tools: then .venv/bin/python -m pytest

The same code runs about half as fast on a CPython built without profile-guided
optimisation (pyenv's default build) as on a distribution's or the official Docker
image's build on the same core, so every CPython 3.11 found on the PATH (and in
/usr/bin, /usr/local/bin) is timed on one reference loop (``bench/machine.py``) and
the fastest that can make a virtual environment is used. ``--python PATH`` (or
``HUB_PYTHON``) names the interpreter instead. An existing ``.venv`` on the chosen
interpreter is kept and updated; one on another interpreter is made again.

Needs only the standard library, so any python3 can run it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "bench" / "machine.py"
NAMES = ("python3.11", "python3", "python")
PLACES = ("/usr/bin", "/usr/local/bin")
SERIES = "3.11"  # the Python the hub is built and tested on
ROUNDS = 9  # timings of each interpreter, taken in turn: the machine's speed swings within seconds
CLOSE = 1.10  # a candidate must be this much faster than the PATH's own to be preferred: timing noise


class InstallError(RuntimeError):
    """Nothing installed; the message says why and what to do."""


@dataclass(frozen=True)
class Candidate:
    command: str  # as found (a pyenv shim, a venv's python, /usr/bin/python3.11)
    executable: str  # the interpreter it runs, symlinks resolved
    version: str
    reference_us: float  # CPU µs of sum(range(1000)): lower is faster
    can_make_venvs: bool


def found_commands(path: str | None = None) -> list[str]:
    """Every ``python3.11``, then ``python3``, then ``python`` on the PATH (in PATH order) and in the usual places;
    the first is the one the PATH itself runs."""
    dirs = [d for d in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep) if d]
    out: list[str] = []
    for name in NAMES:
        for d in dirs + [p for p in PLACES if p not in dirs]:
            cmd = os.path.join(d, name)
            if os.path.isfile(cmd) and os.access(cmd, os.X_OK) and cmd not in out:
                out.append(cmd)
    return out


def _facts(command: str) -> dict | None:
    """What ``bench/machine.py`` says of ``command``: version, executable and the reference loop's µs."""
    try:
        done = subprocess.run([command, "-I", str(PROBE)], capture_output=True, text=True, timeout=60)
        return json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None


def probe(command: str) -> Candidate | None:
    """Time ``command`` on the reference loop; None when it does not run as a Python."""
    facts = _facts(command)
    if facts is None:
        return None
    try:
        venv = subprocess.run([command, "-I", "-c", "import venv, ensurepip"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Candidate(command, facts["executable"], facts["version"], float(facts["reference_us"]),
                     venv.returncode == 0)


def in_series(version: str) -> bool:
    return version.split(".")[:2] == SERIES.split(".")


def unusable_because(c: Candidate) -> str:
    """Why the hub's environment cannot be made on ``c`` ("" when it can)."""
    if not in_series(c.version):
        return f"is Python {c.version}; the hub needs CPython {SERIES}"
    if not c.can_make_venvs:
        return f"cannot make a virtual environment (no venv/ensurepip; Debian: apt-get install python{SERIES}-venv)"
    return ""


def usable(c: Candidate) -> bool:
    return not unusable_because(c)


def choose(candidates: list[Candidate]) -> Candidate:
    """The fastest usable candidate; the first usable one (the PATH's) unless another is clearly faster."""
    ok = [c for c in candidates if usable(c)]
    if not ok:
        seen = "; ".join(f"{c.command}: Python {c.version}{'' if c.can_make_venvs else ', no venv/ensurepip'}"
                         for c in candidates) or "no python on the PATH"
        raise InstallError(f"no CPython {SERIES} that can make a virtual environment was found ({seen}). Install one "
                           f"(Debian: apt-get install python{SERIES} python{SERIES}-venv; or pyenv install {SERIES}) "
                           f"or name it with --python PATH.")
    fastest = min(ok, key=lambda c: c.reference_us)
    return fastest if fastest.reference_us * CLOSE < ok[0].reference_us else ok[0]


def candidates(path: str | None = None, say=print, rounds: int = ROUNDS) -> list[Candidate]:
    """The interpreters found, each timed ``rounds`` times in turn (the best counts), so that the machine's drift
    during the choice weighs on all of them alike."""
    found: list[Candidate] = []
    for command in found_commands(path):
        c = probe(command)
        if c is not None and all(o.executable != c.executable for o in found):
            found.append(c)
    best = {c.command: c.reference_us for c in found}
    for _ in range(rounds - 1):
        for c in found:
            if usable(c) and (again := _facts(c.command)) is not None:
                best[c.command] = min(best[c.command], float(again["reference_us"]))
    out = [replace(c, reference_us=best[c.command]) for c in found]
    for c in out:
        why = unusable_because(c)
        say(f"  {c.command}: CPython {c.version} ({c.executable}), reference loop {c.reference_us:.1f} µs"
            + (f" - not used: it {why}" if why else ""))
    return out


def named(command: str) -> Candidate:
    c = probe(command)
    if c is None:
        raise InstallError(f"{command} does not run as a Python interpreter")
    why = unusable_because(c)
    if why:
        raise InstallError(f"{command} {why}")
    return c


def venv_base(venv: Path) -> str | None:
    """The interpreter an existing virtual environment runs on (symlinks resolved), or None."""
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    done = subprocess.run([str(python), "-I", "-c", "import os, sys; print(os.path.realpath(sys._base_executable))"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def install(chosen: Candidate, venv: Path, extras: list[str], say=print) -> None:
    base = venv_base(venv)
    if base != chosen.executable:
        if venv.exists():
            say(f"making {venv} again on {chosen.executable} (it ran on {base or 'an interpreter that is gone'})")
            shutil.rmtree(venv)
        else:
            say(f"making {venv} on {chosen.executable}")
        subprocess.run([chosen.command, "-m", "venv", str(venv)], check=True)
    target = f"{ROOT}[{','.join(extras)}]" if extras else str(ROOT)
    say(f"installing the hub{' with ' + ', '.join(extras) if extras else ''} into {venv} "
        f"(a few minutes on a new machine: the dependencies come from PyPI)")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                    "--progress-bar", "off", "-e", target], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 deploy/install.py", description=__doc__.split("\n\n")[0],
                                     epilog="Then: .venv/bin/hub up (or . .venv/bin/activate; hub up).")
    parser.add_argument("--test", action="store_true", help="also the test tools (pytest, hypothesis, playwright, ...)")
    parser.add_argument("--rocksdb", action="store_true", help="also rocksdict, for --store rocksdb")
    parser.add_argument("--python", default=os.environ.get("HUB_PYTHON"), metavar="PATH",
                        help="use this interpreter instead of choosing (default: $HUB_PYTHON, else the fastest found)")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv", help="where the environment goes (default .venv)")
    parser.add_argument("--dry-run", action="store_true", help="say which interpreter would be used; change nothing")
    args = parser.parse_args(argv)
    try:
        if args.python:
            chosen = named(args.python)
            print(f"using {chosen.command} (CPython {chosen.version}), as named")
        else:
            print(f"timing the CPython {SERIES} interpreters of this machine (bench/machine.py):")
            chosen = choose(candidates())
            print(f"using {chosen.executable}: the fastest that can make a virtual environment")
        if args.dry_run:
            return 0
        install(chosen, args.venv, [e for e, on in (("test", args.test), ("rocksdb", args.rocksdb)) if on])
    except InstallError as exc:
        print(f"install: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"install: {' '.join(map(str, exc.cmd))} failed (exit {exc.returncode}); see its output above",
              file=sys.stderr)
        return 1
    print(f"done: {args.venv}/bin/hub is the hub; '. {args.venv}/bin/activate' puts it and its python on the PATH")
    return 0


if __name__ == "__main__":
    sys.exit(main())
