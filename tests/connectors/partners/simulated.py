"""Checking a partner connector against what the simulator says its SIS holds (counts.json, hub-events.jsonl)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connectors.sdk import (
    Connector,
    ConnectorRunner,
    CursorStore,
    MemoryPublisher,
    Outcome,
)
from connectors.sdk.testing import ConnectorTestSuite
from schemas.canonical import to_json

ENVELOPE = ("event_id", "recorded_at", "trace_id")  # set by the connector at publishing time, not by the SIS


def copy_partner(alliance: Path, hei: str, tmp_path: Path) -> Path:
    """The partner's folder of the simulation, copied (a drop folder's files move to done/)."""
    target = tmp_path / hei
    shutil.copytree(alliance / hei, target)
    return target


def counts(alliance: Path, hei: str) -> dict[str, Any]:
    return json.loads((alliance / "expected" / "counts.json").read_text(encoding="utf-8"))["sources"][f"{hei}/sis"]


def _content(event: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in event.items() if k not in ENVELOPE}, sort_keys=True, ensure_ascii=False)


def expected_events(alliance: Path, hei: str) -> Counter[str]:
    """The good enrolments and grades of ``hei``'s SIS in hub terms, one per distinct event, envelope left out."""
    seen: set[str] = set()
    out: Counter[str] = Counter()
    with (alliance / "hub-events.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            e = json.loads(line)
            if e["source_hei"] == hei and e["event_type"] != "Mobility" and e["event_id"] not in seen:
                seen.add(e["event_id"])
                out[_content(e)] += 1
    return out


def outcomes(conn: Connector, tmp_path: Path) -> list[tuple[str, Any, Outcome]]:
    """Every source read from the beginning, mapped, nothing published."""
    runner = ConnectorRunner(conn, MemoryPublisher(), CursorStore(tmp_path / "outcomes-cursors.sqlite"))
    return list(runner.outcomes(cursors={name: None for name in conn.mappings}))


def assert_matches_simulation(results: list[tuple[str, Any, Outcome]], alliance: Path, hei: str) -> None:
    """Distinct events per topic = the simulator's good records; dead letters = its bad ones; same content."""
    expected = counts(alliance, hei)
    ids: dict[str, set[str]] = {}
    got: Counter[str] = Counter()
    letters = [o.dead_letter.event for _, _, o in results if o.dead_letter is not None]
    for _, _, o in results:
        for out in o.outputs:
            kind = out.topic.rsplit(".", 1)[1]
            if out.event.event_id not in ids.setdefault(kind, set()):
                ids[kind].add(out.event.event_id)
                got[_content(json.loads(to_json(out.event)))] += 1
    assert {k: len(v) for k, v in ids.items()} == expected["good"]
    assert len(letters) == expected["bad"], [f"{d.source_location}: {d.reason}" for d in letters]  # type: ignore[attr-defined]
    want = expected_events(alliance, hei)
    assert not (want - got) and not (got - want), (
        f"missing {list(want - got)[:2]}, unexpected {list(got - want)[:2]}")


def reasons(results: list[tuple[str, Any, Outcome]]) -> Counter[str]:
    """Dead letters per error kind."""
    return Counter(o.dead_letter.event.error_kind for _, _, o in results if o.dead_letter is not None)  # type: ignore[attr-defined]


class SimulatedSuite(ConnectorTestSuite):
    """The standard suite on the session's simulated alliance; ``prepare`` gets ``self.alliance``.

    The simulated SIS redeliver ~1% of records (the same record, twice): the suite's
    "no two records share an event id" is checked as "records share an event id only
    when they are the same event", which is what consumers rely on to drop duplicates.
    """

    @pytest.fixture(autouse=True)
    def _alliance(self, native_alliance: Path) -> None:
        self.alliance = native_alliance

    def test_event_ids_are_stable(self, runner: ConnectorRunner) -> None:
        first = [out.event for _, _, o in self._outcomes(runner) for out in o.outputs]
        again = [out.event for _, _, o in self._outcomes(runner) for out in o.outputs]
        assert [e.event_id for e in first] == [e.event_id for e in again]
        by_id: dict[str, str] = {}
        for event in first:
            content = _content(json.loads(to_json(event)))
            assert by_id.setdefault(event.event_id, content) == content, f"two different events share {event.event_id}"
