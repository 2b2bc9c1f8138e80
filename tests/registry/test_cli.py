"""``hub registry`` and ``hub schemas`` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from hub.cli import main
from hub.registry import serve_registry
from schemas.avro_files import load_schema
from schemas.catalogue import TOPICS


def test_registry_help_explains_api_and_env() -> None:
    result = CliRunner().invoke(main, ["registry", "--help"])
    assert result.exit_code == 0
    for text in ("/subjects/{subject}/versions", "HUB_SCHEMA_REGISTRY_URL", "42201", "--port"):
        assert text in result.output


def test_registry_runs_in_foreground_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "HUB_LOG_FORMAT": "json"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from hub.cli import main; main()", "registry", "--port", "0", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert "serving http://127.0.0.1:" in line, line + proc.stderr.read()  # type: ignore[union-attr]
        url = line.split("serving ")[1].split()[0]
        deadline = time.monotonic() + 20
        while True:
            try:
                assert httpx.get(f"{url}/subjects").json() == []
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "registry never answered"
                time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert (tmp_path / "registry.sqlite").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_schemas_list() -> None:
    result = CliRunner().invoke(main, ["schemas", "list"])
    assert result.exit_code == 0
    assert "eu.heroes.hub.Grade" in result.output and "sis.<hei>.grades (9 partners), hub.grades" in result.output
    every = CliRunner().invoke(main, ["schemas", "list", "--all-topics"])
    assert all(t.name in every.output for t in TOPICS)


def test_schemas_register_then_check(tmp_path: Path) -> None:
    with serve_registry(tmp_path) as running:
        runner = CliRunner()
        before = runner.invoke(main, ["schemas", "check", "--registry", running.url])
        assert before.exit_code == 0 and "not registered yet" in before.output
        registered = runner.invoke(main, ["schemas", "register", "--registry", running.url])
        assert registered.exit_code == 0, registered.output
        assert f"registered {len(TOPICS)} subjects" in registered.output
        assert sorted(httpx.get(f"{running.url}/subjects").json()) == sorted(t.subject for t in TOPICS)
        after = runner.invoke(main, ["schemas", "check", "--registry", running.url])
        assert after.exit_code == 0 and "INCOMPATIBLE" not in after.output and "not registered" not in after.output

        # what is registered moves on incompatibly: the local files no longer fit
        newer = load_schema("Grade")
        newer["fields"].append({"name": "credits_kind", "type": "string", "doc": "x"})
        httpx.put(f"{running.url}/config/hub.grades-value", json={"compatibility": "NONE"})
        httpx.post(f"{running.url}/subjects/hub.grades-value/versions", json={"schema": json.dumps(newer)})
        httpx.put(f"{running.url}/config/hub.grades-value", json={"compatibility": "FORWARD"})
        broken = runner.invoke(main, ["schemas", "check", "--registry", running.url])
        assert broken.exit_code == 1
        assert "INCOMPATIBLE  Grade" in broken.output and "credits_kind" in broken.output


def test_schemas_register_without_registry_says_how_to_fix(tmp_path: Path) -> None:
    with serve_registry(tmp_path) as running:
        url = running.url
    result = CliRunner().invoke(main, ["schemas", "register", "--registry", url])
    assert result.exit_code == 1 and "HUB_SCHEMA_REGISTRY_URL" in result.output


def test_schemas_check_history_offline() -> None:
    result = CliRunner().invoke(main, ["schemas", "check", "--history"])
    assert result.exit_code == 0 and result.output.count("ok ") == 8


def test_schemas_bench_runs() -> None:
    result = CliRunner().invoke(main, ["schemas", "bench", "--record", "Mobility", "--count", "200"])
    assert result.exit_code == 0, result.output
    assert "serialize" in result.output and "deserialize" in result.output and "records/s" in result.output
