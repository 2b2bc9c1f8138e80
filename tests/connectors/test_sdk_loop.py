"""The run loop: a mapping whose lookup service is down is retried (not dead-lettered); dead letters are logged
once per record at info and once per batch at warning."""

from __future__ import annotations

import gc
import json
import logging
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import structlog
from pydantic import BaseModel, Field

from connectors.sdk import (
    Backoff,
    Connector,
    ConnectorRunner,
    ConnectorSettings,
    CursorStore,
    MemoryPublisher,
    RecordRejected,
    SourceUnavailable,
)
from connectors.sources import FileDropSource
from schemas.models import Grade
from tests.connectors.servers import ScriptedServer


class Settings(ConnectorSettings):
    folder: Path
    lookup_url: str = ""


class Row(BaseModel):
    student: str = Field(alias="Matrikelnummer")
    course: str = Field(alias="Pruefungsnummer")
    mark: str = Field(alias="Note")


def grade(r: Row, s: Settings) -> Grade:
    """Resolves the course's ECTS through a lookup endpoint, as some SIS only offer it there."""
    if s.lookup_url:
        try:
            answer = httpx.get(f"{s.lookup_url}/courses/{r.course}", timeout=5)
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"course lookup unreachable: {exc}") from exc
        if answer.status_code >= 500:
            raise SourceUnavailable(f"course lookup answered {answer.status_code}")
        if answer.status_code == 404:
            raise RecordRejected(r, f"course {r.course} unknown to the lookup", "unknown_course")
        ects = answer.json()["ects"]
    else:
        ects = "5"
    if r.mark == "X":
        raise RecordRejected(r, "grade X is no grade", "unknown_grade")
    return Grade(source_hei="th-deg.de", hei="th-deg.de", student_id=r.student, result_id=f"{r.student}/{r.course}",
                 course_code=r.course, grade_label=r.mark, grading_scheme_id="th-deg.de/1-5", ects=ects,
                 assessed_on=datetime(2025, 7, 14).date(), status="FINAL", occurred_at=datetime(2025, 7, 14, tzinfo=UTC))


class LookupExports(Connector):
    hei = "th-deg.de"
    name = "lookup_test"
    settings_class = Settings
    mappings = {"grades": grade}

    def sources(self, s: Settings) -> list[FileDropSource]:
        return [FileDropSource("grades", s.folder, delimiter=";", poll_interval=0.01)]


def _export(folder: Path, rows: list[tuple[str, str, str]], name: str = "a.csv") -> None:
    lines = ["Matrikelnummer;Pruefungsnummer;Note"] + [";".join(r) for r in rows]
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _lookup(server: ScriptedServer) -> None:
    def course(query: dict) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/json"}, json.dumps({"ects": "7.5"}).encode()

    for code in ("K1", "K2", "K3"):
        server.routes[f"/courses/{code}"] = course


def _runner(conn: Connector, tmp_path: Path, publisher: MemoryPublisher, batch_size: int = 1000) -> ConnectorRunner:
    return ConnectorRunner(conn, publisher, CursorStore(tmp_path / "cursors.sqlite"), batch_size=batch_size,
                           backoff=lambda: Backoff(base=0.05, cap=0.2))


def test_a_lookup_outage_is_retried_from_the_saved_cursor_not_dead_lettered(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    _export(inbox, [("s1", "K1", "1,3"), ("s2", "K2", "2,0"), ("s3", "K3", "1,0"), ("s4", "K9", "2,3")])
    publisher = MemoryPublisher()
    with ScriptedServer() as server:
        _lookup(server)
        # the endpoint is down while the second record is mapped, twice, then back
        down = (503, {}, b"maintenance")
        server.fail["/courses/K2"] = deque([down, down])
        runner = _runner(LookupExports(folder=inbox, lookup_url=server.url), tmp_path, publisher)
        totals = runner.run(once=True)
        asked = [path for path, _, _ in server.requests]
    assert totals.rejected == {"unknown_course": 1}, "only the record the lookup does not know is a dead letter"
    grades = [v for t, _, v in publisher.acked if t == "sis.th-deg.de.grades"]
    assert len(grades) == 3, "each good record published once: nothing of the failed batch was sent"
    assert asked.count("/courses/K2") == 3 and asked.count("/courses/K1") == 3, "the batch was read again from its start"
    status = runner.store.status()
    assert "unavailable" in status["last_error"]["value"] and "503" in status["last_error"]["value"]
    assert status["cursors"]["grades"]["cursor"]["done"] is True
    assert (inbox / "done" / "a.csv").exists()


def test_a_lookup_that_stays_down_saves_no_cursor_and_sends_nothing(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    _export(inbox, [("s1", "K1", "1,3"), ("s2", "K2", "2,0")])
    publisher = MemoryPublisher()
    with ScriptedServer() as server:
        server.fail["/courses/K1"] = deque([(502, {}, b"bad gateway")] * 50)
        runner = _runner(LookupExports(folder=inbox, lookup_url=server.url), tmp_path, publisher)
        with pytest.raises(SourceUnavailable, match="gave up after 6 attempts.*502"):
            runner.run(once=True)
    assert publisher.acked == [] and publisher.sent == []
    assert runner.store.load("grades") is None
    assert (inbox / "a.csv").exists() and not (inbox / "done").exists()


@pytest.fixture
def info_logs():
    """structlog at info level (another test may have configured it quieter), restored afterwards."""
    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with structlog.testing.capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(**before)


def test_dead_letters_log_at_info_each_and_warn_once_per_batch(tmp_path, info_logs):
    inbox = tmp_path / "in"
    inbox.mkdir()
    rows = [(f"s{i}", "K1", "X" if i % 4 == 0 else "1,0") for i in range(1, 13)]  # s4, s8, s12 are bad
    rows.insert(5, ("s-broken", "K1"))  # two fields: a parse error
    _export(inbox, rows)
    publisher = MemoryPublisher()
    runner = _runner(LookupExports(folder=inbox), tmp_path, publisher, batch_size=7)
    threshold = gc.get_threshold()
    totals = runner.run(once=True)
    assert gc.get_threshold() == threshold, "the run loop collects garbage less often only while it runs"
    logs = info_logs
    assert totals.rejected == {"unknown_grade": 3, "parse": 1}
    each = [e for e in logs if e["event"] == "dead_letter"]
    assert len(each) == 4 and all(e["log_level"] == "info" and e["reason"] for e in each)
    assert {e["error_kind"] for e in each} == {"unknown_grade", "parse"}
    summaries = [e for e in logs if e["event"] == "dead_letters"]
    assert all(e["log_level"] == "warning" for e in summaries)
    assert len(summaries) == 2, "one warning per batch that had dead letters (rows 1-7 and 8-13)"
    assert summaries[0]["by_reason"] == {"parse": 1, "unknown_grade": 1}
    assert summaries[1]["by_reason"] == {"unknown_grade": 2}
    assert not [e for e in logs if e["log_level"] == "warning" and e["event"] == "dead_letter"]
    assert runner.store.status()["rejected"] == {"parse": 1, "unknown_grade": 3}
