"""``hub connector``: list, check, dry-run, settings errors (exit 2), run, status and replay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.commands.connector import connector
from schemas.canonical import from_json
from tests.connectors.helpers import events

DATA = Path(__file__).parent / "data" / "primuss"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    shutil.copytree(DATA, tmp_path / "in")
    return tmp_path / "in"


def _invoke(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(connector, args, env={"HUB_LOG_LEVEL": "warning", **env}, catch_exceptions=False)


def test_list_check_and_dry_run(inbox, tmp_path):
    env = {"HUB_TH_DEG_FOLDER": str(inbox), "HUB_DATA_DIR": str(tmp_path / "data")}
    listed = _invoke(["list"], env)
    assert "example_csv" in listed.output and "HUB_TH_DEG_*" in listed.output
    checked = _invoke(["check", "example_csv"], env)
    assert checked.exit_code == 0, checked.output
    assert "1 file(s) waiting" in checked.output and '"event_type":"Grade"' in checked.output
    dry = _invoke(["dry-run", "example_csv", "--limit", "8"], env)
    assert dry.exit_code == 0
    lines = [line for line in dry.stdout.splitlines() if line.startswith("{")]
    grades = [from_json(line) for line in lines]
    assert [g.student_id for g in grades] == ["00123456", "00123457", "00123457", "00123458", "00123462"]
    assert "rejected [unknown_status]" in dry.output
    assert (inbox / "grades-2025-07.csv").exists(), "a dry run must not move the file"


def test_invalid_settings_are_all_listed_and_exit_2(tmp_path):
    env = {"HUB_TH_DEG_FOLDER": str(tmp_path), "HUB_TH_DEG_POLL_INTERVAL": "soon", "HUB_TH_DEG_ENCODING": 42}
    result = _invoke(["check", "example_csv"], {k: str(v) for k, v in env.items()})
    assert result.exit_code == 2
    assert "HUB_TH_DEG_POLL_INTERVAL" in result.output
    result = _invoke(["check", "example_csv"], {"HUB_TH_DEG_FOLDER": str(tmp_path), "HUB_TH_DEG_ENCODING": "klingon",
                                                 "HUB_TH_DEG_DELIMITER": ";;"})
    assert result.exit_code == 2
    assert "unknown encoding 'klingon'" in result.output and "delimiter must be one character" in result.output


def test_unknown_connector_is_a_usage_error(tmp_path):
    result = _invoke(["check", "nowhere.example"], {"HUB_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2 and "no connector for 'nowhere.example'" in result.output


@pytest.mark.kafka
def test_run_status_and_replay_from_the_beginning(inbox, tmp_path, broker, registry):
    tag = "cli-" + tmp_path.name[-6:]
    text = (inbox / "grades-2025-07.csv").read_bytes().decode("cp1252").replace("00123", tag)
    (inbox / "grades-2025-07.csv").write_bytes(text.encode("cp1252"))
    env = {"HUB_TH_DEG_FOLDER": str(inbox), "HUB_DATA_DIR": str(tmp_path / "data"),
           "HUB_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "HUB_SCHEMA_REGISTRY_URL": registry.url}
    ran = _invoke(["run", "example_csv", "--once"], env)
    assert ran.exit_code == 0, ran.output
    assert (inbox / "done" / "grades-2025-07.csv").exists()

    status = json.loads(_invoke(["status", "--json"], env).stdout)["example_csv"]
    assert status["published"] == {"sis.th-deg.de.grades": 5}
    assert status["rejected"] == {"invalid_record": 1, "parse": 1, "unknown_status": 1}
    assert status["cursors"]["grades"]["cursor"]["done"] is True
    human = _invoke(["status"], env).output
    assert "rejected unknown_status: 1" in human

    replayed = _invoke(["replay", "example_csv", "--from", "beginning"], env)
    assert replayed.exit_code == 0, replayed.output
    published = events(broker, registry, "sis.th-deg.de.grades", tag)
    assert len(published) == 10
    ids = {}
    for r in published:
        ids.setdefault((r["student_id"], r["attempt"]), set()).add(str(r["event_id"]))
    assert all(len(v) == 1 for v in ids.values()), "a replayed record got a new event_id"


def test_dry_run_against_a_source_that_is_down_says_so_and_exits_1(tmp_path):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"HUB_DATA_DIR": str(tmp_path), "HUB_FONTYS_API_URL": f"http://127.0.0.1:{port}"}
    result = _invoke(["dry-run", "fontys_ooapi", "--limit", "2"], env)
    assert result.exit_code == 1
    assert "dry-run stopped" in result.output and "cannot connect" in result.output
