"""A small simulated alliance served on 127.0.0.1, and the standard suite checked against it.

The simulation is generated once per test process (fixed seed) and its partner APIs
are served by ``hub.simulate.serve_partner_apis``; ``SimulatedSuite`` adds to the SDK's
standard suite the checks every simulated partner source must pass: good and bad
counts equal the simulator's ``expected/counts.json``, every bad record is a dead
letter of the expected kind with a reason, and the events equal the simulator's own
``hub-events.jsonl`` field by field (envelope ids and ``recorded_at`` aside).
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import pytest

from connectors.sdk import ConnectorRunner, CursorStore, MemoryPublisher
from connectors.sdk.testing import ConnectorTestSuite
from schemas.canonical import to_json

# Chosen so that every partner has EWP documents, every mobility case occurs (LA changes of both tables,
# groups, conditions, cancellations, ToRs) and each HTTP source has every kind of bad record and a redelivery.
SEED = 5
STUDENTS = 150
MOBILITY_SHARE = 0.1
ENVELOPE = ("event_id", "recorded_at", "trace_id")


class Alliance:
    """A generated simulation folder and the base URL of each partner's served APIs."""

    def __init__(self, folder: Path, urls: dict[str, str]) -> None:
        self.folder, self.urls = folder, urls
        self.counts = json.loads((folder / "expected" / "counts.json").read_text(encoding="utf-8"))

    def source(self, name: str) -> dict[str, Any]:
        """Counts of one source, e.g. ``hh.se/sis`` or ``fontys.nl/ewp``."""
        return self.counts["sources"][name]

    def hub_events(self, source_hei: str, types: tuple[str, ...]) -> list[dict[str, Any]]:
        """The simulator's distinct hub events of one partner and event types, envelope ids removed."""
        seen: dict[str, dict[str, Any]] = {}
        with (self.folder / "hub-events.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                event = json.loads(line)
                if event["source_hei"] == source_hei and event["event_type"] in types:
                    seen[event["event_id"]] = comparable(event)
        return list(seen.values())


def comparable(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ENVELOPE}


@cache
def alliance() -> Alliance:
    """Generated and served once per test process; removed and stopped at exit."""
    from hub.simulate import SimulationConfig, serve_partner_apis, simulate

    folder = Path(tempfile.mkdtemp(prefix="heroes-http-alliance-"))
    atexit.register(shutil.rmtree, folder, True)
    simulate(SimulationConfig(seed=SEED, students=STUDENTS, mobility_share=MOBILITY_SHARE, out=folder / "sim"))
    servers = serve_partner_apis(folder / "sim")
    atexit.register(servers.stop)
    return Alliance(folder / "sim", servers.urls)


def as_comparable(events: list[Any]) -> list[dict[str, Any]]:
    """Produced events (distinct by event id) in the simulator's canonical JSON, envelope ids removed."""
    unique = {e.event_id: e for e in events}
    return [comparable(json.loads(to_json(e))) for e in unique.values()]


def assert_same_events(produced: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Equal as multisets; on failure, name a few events on either side only."""
    got = Counter(json.dumps(e, sort_keys=True) for e in produced)
    want = Counter(json.dumps(e, sort_keys=True) for e in expected)
    missing, extra = want - got, got - want
    assert not missing and not extra, (
        f"{sum(missing.values())} expected events not produced, {sum(extra.values())} produced but not expected;\n"
        "expected, e.g.:\n  " + "\n  ".join(list(missing)[:3]) + "\nproduced, e.g.:\n  " + "\n  ".join(list(extra)[:3]))


_PASSES: dict[str, tuple[list[Any], list[Any], int]] = {}


class SimulatedSuite(ConnectorTestSuite):
    """The standard suite on one partner source of the served simulation, plus equality with the simulator."""

    source: ClassVar[str]  # counts.json source, e.g. "fontys.nl/sis"
    event_types: ClassVar[tuple[str, ...]] = ("Enrolment", "Grade")
    bad_kinds: ClassVar[dict[str, str]] = {}  # simulator badness -> the dead letter's error_kind
    ignore_fields: ClassVar[tuple[str, ...]] = ()  # fields the native format cannot carry (say why in the test)
    redelivers: ClassVar[bool] = True  # counts.json duplicates are native redeliveries (not so for EWP documents)

    @pytest.fixture(autouse=True)
    def _alliance(self) -> None:
        self.alliance = alliance()

    def run_all(self, tmp_path: Path) -> tuple[list[Any], list[Any], int]:
        """(events, dead letters, skips) of one pass over the whole source (once per class: the input is fixed)."""
        key = type(self).__qualname__
        if key not in _PASSES:
            _PASSES[key] = self._one_pass(tmp_path)
        return _PASSES[key]

    def _one_pass(self, tmp_path: Path) -> tuple[list[Any], list[Any], int]:
        runner = ConnectorRunner(self.connector_class(**self.prepare(tmp_path)), MemoryPublisher(),
                                 CursorStore(tmp_path / "all.sqlite"))
        events, letters, skips = [], [], 0
        for _, _, outcome in runner.outcomes(cursors={name: None for name in runner.connector.mappings}):
            events += [o.event for o in outcome.outputs]
            letters += [outcome.dead_letter.event] if outcome.dead_letter else []
            skips += outcome.skipped is not None
        return events, letters, skips

    def test_event_ids_are_stable(self, runner: ConnectorRunner) -> None:
        """Overrides the SDK's check: a record the SIS delivered twice must keep its id (counts.json duplicates)."""
        first = [out.event.event_id for _, _, o in self._outcomes(runner) for out in o.outputs]
        again = [out.event.event_id for _, _, o in self._outcomes(runner) for out in o.outputs]
        assert first == again
        counts = self.alliance.source(self.source)
        assert len(first) - len(set(first)) == (sum(counts["duplicates"].values()) if self.redelivers else 0)

    def test_counts_equal_the_simulation(self, tmp_path: Path) -> None:
        events, letters, _ = self.run_all(tmp_path)
        counts = self.alliance.source(self.source)
        kinds = Counter(type(e).__name__ for e in {e.event_id: e for e in events}.values())
        topic = {"Enrolment": "enrolments", "Grade": "grades", "Mobility": "mobilities"}
        assert {topic[k]: n for k, n in kinds.items()} == counts["good"]
        redelivered = sum(counts["duplicates"].values()) if self.redelivers else 0
        assert len(events) == sum(counts["good"].values()) + redelivered
        assert len(letters) == counts["bad"]
        assert all(letter.reason for letter in letters)
        assert Counter(letter.error_kind for letter in letters) == Counter(
            {self.bad_kinds.get(k, k): n for k, n in counts["bad_by_kind"].items()})

    def test_events_equal_the_simulators_hub_events(self, tmp_path: Path) -> None:
        events, _, _ = self.run_all(tmp_path)
        hei = self.connector_class.hei
        assert_same_events([self._strip(e) for e in as_comparable(events)],
                           [self._strip(e) for e in self.alliance.hub_events(hei, self.event_types)])

    def _strip(self, event: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in event.items() if k not in self.ignore_fields}
