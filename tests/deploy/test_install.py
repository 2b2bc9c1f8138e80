"""deploy/install.py: which interpreter the hub's virtual environment is made on, and its errors.

The full install (venv + pip) is what the README's two commands run, so CI runs it on every
build; here the choice is held on real interpreters and on interpreters that are not usable.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.install import Candidate, InstallError, candidates, choose, found_commands, probe

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "deploy" / "install.py"


def _candidate(name: str, version: str, ref: float, venv: bool = True) -> Candidate:
    return Candidate(name, f"/real/{name}", version, ref, venv)


def _fake_python(tmp_path: Path, name: str, probe_json: str) -> Path:
    """An executable that answers the probe like a Python of another version would."""
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\necho '{probe_json}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_clearly_fastest_usable_interpreter_wins():
    path_first = _candidate("pyenv", "3.11.7", 15.0)
    debian = _candidate("debian", "3.11.2", 7.5)
    assert choose([path_first, debian]) is debian


def test_within_timing_noise_the_paths_own_interpreter_is_kept():
    path_first = _candidate("pyenv", "3.11.7", 10.0)
    assert choose([path_first, _candidate("other", "3.11.2", 9.5)]) is path_first


def test_other_series_and_interpreters_without_venv_are_never_chosen():
    newer = _candidate("py312", "3.12.1", 5.0)
    no_venv = _candidate("bare", "3.11.2", 6.0, venv=False)
    slow = _candidate("pyenv", "3.11.7", 15.0)
    assert choose([newer, no_venv, slow]) is slow
    with pytest.raises(InstallError, match=r"no CPython 3.11 .*py312: Python 3.12.1; bare: Python 3.11.2, no venv"):
        choose([newer, no_venv])


def test_this_interpreter_is_probed_as_it_is():
    found = probe(sys.executable)
    assert found is not None
    assert found.executable == os.path.realpath(sys.executable)
    assert found.version == ".".join(map(str, sys.version_info[:3]))
    assert 0 < found.reference_us < 1000


def test_commands_are_found_in_path_order_then_in_the_usual_places(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for d in (first, second):
        d.mkdir()
        os.symlink(sys.executable, d / "python3.11")
    (second / "python3").write_text("not executable")
    found = found_commands(f"{first}{os.pathsep}{second}")
    assert found[:2] == [str(first / "python3.11"), str(second / "python3.11")]
    assert str(second / "python3") not in found
    for place in ("/usr/bin/python3.11", "/usr/local/bin/python3.11"):  # looked at even when not on the PATH
        assert (place in found) == (os.path.isfile(place) and os.access(place, os.X_OK))


def test_dry_run_names_the_chosen_interpreter_and_changes_nothing(tmp_path):
    venv = tmp_path / "venv"
    done = subprocess.run([sys.executable, str(INSTALL), "--dry-run", "--python", sys.executable, "--venv", str(venv)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"using {sys.executable} (CPython {sys.version.split()[0]}), as named" in done.stdout
    assert not venv.exists()


@pytest.mark.parametrize("probe_json, message", [
    ('{"implementation": "CPython", "version": "3.10.12", "executable": "/x/python3.10", "reference_us": 9.0}',
     "is Python 3.10.12; the hub needs CPython 3.11"),
    ("not json", "does not run as a Python interpreter"),
])
def test_a_named_interpreter_that_cannot_serve_is_refused_with_the_reason(tmp_path, probe_json, message):
    fake = _fake_python(tmp_path, "python", probe_json)
    done = subprocess.run([sys.executable, str(INSTALL), "--python", str(fake), "--venv", str(tmp_path / "venv")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "venv").exists()


def test_each_interpreter_is_listed_once_with_its_best_timing(tmp_path):
    for name in ("python3.11", "python3"):  # two names of one interpreter
        os.symlink(sys.executable, tmp_path / name)
    said: list[str] = []
    found = candidates(str(tmp_path), say=said.append, rounds=2)
    mine = [c for c in found if c.executable == os.path.realpath(sys.executable)]
    assert len(mine) == 1 and mine[0].command == str(tmp_path / "python3.11")
    assert any(line.startswith(f"  {tmp_path / 'python3.11'}: CPython {mine[0].version}") for line in said)
