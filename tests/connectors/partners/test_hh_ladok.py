"""Halmstad Ladok 3 connector on the served simulation: the standard suite, counts and hub events."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from connectors.partners.hh_ladok import HhLadok, term_id
from connectors.sdk import ConnectorRunner, CursorStore, MemoryPublisher
from schemas.models import Grade
from tests.connectors.partners.http_alliance import SimulatedSuite, alliance


class TestHhLadok(SimulatedSuite):
    connector_class = HhLadok
    source = "hh.se/sis"
    bad_kinds: ClassVar[dict[str, str]] = {"broken_xml": "parse", "unknown_grade_label": "unknown_grade"}

    def prepare(self, tmp_path: Path) -> dict[str, Any]:
        return {"api_url": self.alliance.urls["hh.se"], "student_directory": tmp_path / "students.sqlite",
                "poll_interval": 0.1}


def test_every_ladok_grade_says_attempt_1(tmp_path: Path) -> None:
    suite = TestHhLadok()
    suite.alliance = alliance()
    events, _, _ = suite.run_all(tmp_path)
    grades = [e for e in events if isinstance(e, Grade)]
    assert grades and {g.attempt for g in grades} == {1}


def test_ladok_periods() -> None:
    assert term_id("HT2025") == "2025/2026-1"
    assert term_id("VT2026") == "2025/2026-2"


def test_esis_are_known_after_a_restart_past_the_student_entries(tmp_path: Path) -> None:
    """Resuming from a cursor behind the LokalStudentEvent entries, the remembered ESIs still fill the events;
    with an empty directory they cannot."""
    suite = TestHhLadok()
    suite.alliance = alliance()

    def read(directory: Path, cursor: Any) -> list[Any]:
        connector = HhLadok(**{**suite.prepare(tmp_path), "student_directory": directory})
        runner = ConnectorRunner(connector, MemoryPublisher(), CursorStore(tmp_path / f"{directory.stem}.sqlite"))
        return [(item, o) for _, item, o in runner.outcomes(cursors={"feed": cursor})]

    first = read(tmp_path / "kept.sqlite", None)
    middle = len(first) // 2
    cursor = next(item.cursor for item, _ in reversed(first[:middle]) if item.cursor)
    tail = [o.event for _, oc in first[middle:] for o in oc.outputs]
    again = [o.event for _, oc in read(tmp_path / "kept.sqlite", cursor) for o in oc.outputs]
    assert [e.event_id for e in again] == [e.event_id for e in tail]
    assert [e.student_esi for e in again] == [e.student_esi for e in tail] and all(e.student_esi for e in again)
    forgotten = [o.event for _, oc in read(tmp_path / "empty.sqlite", cursor) for o in oc.outputs]
    assert any(e.student_esi is None for e in forgotten)
