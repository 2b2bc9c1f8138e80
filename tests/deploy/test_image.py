"""The production image installs what docker-compose.yml's processes use (no Docker needed to check it)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _declared() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _extras_installed_by_the_image() -> list[str]:
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    installs = re.findall(r"pip install [^\n]*?'\.\[([^\]]+)\]'", dockerfile)
    assert installs, "the Dockerfile no longer installs the hub with its extras"
    return [extra.strip() for found in installs for extra in found.split(",")]


def test_every_extra_the_image_installs_is_declared():
    declared = _declared()
    extras = _extras_installed_by_the_image()
    assert extras and all(extra in declared for extra in extras), (extras, sorted(declared))


def test_the_image_has_the_driver_of_the_compose_ledger_url():
    compose = (ROOT / "docker-compose.yml").read_text()
    url = re.search(r"HUB_LEDGER_URL:\s*(\S+)", compose).group(1)
    driver = url.split("://")[0].split("+")[1]  # postgresql+psycopg2 -> psycopg2
    declared = _declared()
    packages = [req for extra in _extras_installed_by_the_image() for req in declared[extra]]
    assert any(req.startswith(driver) for req in packages), (driver, packages)
