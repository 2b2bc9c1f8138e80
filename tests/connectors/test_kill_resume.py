"""A connector process killed mid-batch resumes from its saved cursor: nothing lost, re-sent records keep their event_id."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import defaultdict

import pytest

from tests.connectors.conftest import read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ROWS = 6000


def _saved_row(db) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as con:
            row = con.execute("SELECT value FROM cursors WHERE source='grades'").fetchone()
    except sqlite3.OperationalError:
        return 0
    return json.loads(row[0]).get("row", 0) if row and row[0] else 0


def test_kill_mid_batch_then_resume(broker, registry, tmp_path):
    tag = uuid.uuid4().hex[:8]
    inbox = tmp_path / "in"
    inbox.mkdir()
    lines = ["Matrikelnummer;Pruefungsnummer;Note;ECTS;Pruefungsdatum;Versuch;Status"]
    lines += [f"{tag}-{i:05d};IF-{i % 40};{1 + i % 4},{i % 10};5,0;14.07.2025;1;endgültig" for i in range(ROWS)]
    (inbox / "big.csv").write_bytes("\r\n".join(lines).encode("cp1252"))
    env = {**os.environ, "HUB_TH_DEG_FOLDER": str(inbox), "HUB_DATA_DIR": str(tmp_path / "data"),
           "HUB_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "HUB_SCHEMA_REGISTRY_URL": registry.url,
           "HUB_LOG_LEVEL": "warning"}
    argv = [sys.executable, "-c", "from hub.cli import main; main()", "connector", "run", "example_csv", "--once", "--batch-size", "250"]
    db = tmp_path / "data" / "connectors" / "example_csv.sqlite"

    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while _saved_row(db) < 1000:
            assert proc.poll() is None, f"connector exited early: {proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "connector made no progress"
            time.sleep(0.02)
        time.sleep(0.05)  # land somewhere inside a batch
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = _saved_row(db)
    assert 0 < killed_at < ROWS, f"kill came too late to test anything (row {killed_at})"
    assert (inbox / "big.csv").exists(), "the file must stay until it is fully acknowledged"

    done = subprocess.run(argv, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert (inbox / "done" / "big.csv").exists()

    ids: dict[str, set[str]] = defaultdict(set)
    copies = 0
    for key, rec in read_topic(broker.bootstrap_servers, "sis.th-deg.de.grades", registry.url, timeout=60):
        if key.decode().startswith(tag):
            ids[rec["student_id"]].add(str(rec["event_id"]))
            copies += 1
    assert len(ids) == ROWS, f"lost {ROWS - len(ids)} records"
    assert all(len(v) == 1 for v in ids.values()), "a re-sent record got a new event_id"
    assert copies >= ROWS
