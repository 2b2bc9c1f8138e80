"""When each record reaches its reader, and the external sort that puts a partner's records in that order.

Every source has a delivery rhythm: a stream (the record appears seconds to hours
after it happened) or batches (PRIMUSS exports twice a week, UIS nightly).  A small
share of records arrives late (days later, after newer ones: out of order) and a small
share twice (a duplicate delivery of the same record, same event id).

Records are generated student by student, not in time order, so each partner's
deliveries go through an external sort: sorted runs of bounded size on disk, merged
with ``heapq.merge``.  Memory stays flat in the number of students.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hub.simulate._rand import Rand, derived_uuid, from_ms, ms

LATE = 0.01
DUPLICATE = 0.01
RUN_SIZE = 10_000  # records per sorted run: memory is ~ sources x RUN_SIZE records


@dataclass(frozen=True)
class Rhythm:
    """How a source delivers: ``lag`` seconds after the event, or at the next batch slot."""

    lag: tuple[int, int] = (1, 60)
    batch_weekdays: tuple[int, ...] = ()  # Monday = 0; empty = a stream
    batch_hour: float = 2.0

    def slot(self, t: datetime) -> datetime:
        """The first batch slot at or after t."""
        day = t.replace(hour=0, minute=0, second=0, microsecond=0)
        hour = timedelta(hours=self.batch_hour)
        for k in range(0, 8):
            candidate = day + timedelta(days=k) + hour
            if candidate.weekday() in self.batch_weekdays and candidate >= t:
                return candidate
        raise AssertionError("no batch slot within a week")


RHYTHMS: dict[str, Rhythm] = {
    "ladok-atom": Rhythm(lag=(20, 900)),
    "ooapi": Rhythm(lag=(60, 1800)),
    "odata": Rhythm(lag=(60, 1800)),
    "peppi": Rhythm(lag=(60, 1800)),
    "primuss-csv": Rhythm(batch_weekdays=(0, 3), batch_hour=2.0),
    "esas-sql": Rhythm(lag=(2, 300)),
    "netpa-sql": Rhythm(lag=(2, 300)),
    "webhook": Rhythm(lag=(1, 30)),
    "uis-xml": Rhythm(batch_weekdays=(0, 1, 2, 3, 4, 5, 6), batch_hour=1.5),
    "ewp": Rhythm(lag=(300, 7200)),
}


def event_id(hei: str, record: dict[str, Any]) -> str:
    """The hub event id of a record version: the same for every delivery of that version."""
    return derived_uuid(hei, record["k"], record.get("rid", record["sid"]), record.get("v", 0))


class Scheduler:
    """Gives each record its delivery time(s) and spills sorted runs of one source to disk."""

    def __init__(self, hei: str, rhythm: Rhythm, rng: Rand, work: Path, name: str):
        self.hei, self.rhythm, self.rng = hei, rhythm, rng
        self.work, self.name = work, name
        self.buffer: list[tuple[int, int, dict[str, Any]]] = []
        self.runs: list[Path] = []
        self.seq = 0
        self.latest_event = 0

    def _when(self, t: int) -> int:
        """Delivery time (epoch ms) of something that happened at t (epoch ms)."""
        if self.rhythm.batch_weekdays:
            return ms(self.rhythm.slot(from_ms(t + 60_000 * self.rng.randint(1, 120))))
        return t + 1000 * self.rng.randint(*self.rhythm.lag)

    def add(self, record: dict[str, Any]) -> None:
        t = record["t"]
        self.latest_event = max(self.latest_event, t)
        student = record["k"] == "student"
        record["eid"] = None if student else event_id(self.hei, record)
        first = self._when(t)
        record["late"] = 0
        if not student and self.rng.chance(LATE):
            first = self._when(t + 86_400_000 * self.rng.randint(1, 21) + 3_600_000 * self.rng.randint(0, 12))
            record["late"] = 1
        record["dup"] = 0
        record["rec"] = first  # recorded_at of the event: a duplicate delivery repeats the same event
        self._push(first, record)
        if not student and self.rng.chance(DUPLICATE):
            self._push(self._when(first + 3_600_000 * self.rng.randint(2, 72)), {**record, "dup": 1})

    def add_all(self, records: list[dict[str, Any]]) -> None:
        for r in records:
            self.add(r)

    def _push(self, delivered: int, record: dict[str, Any]) -> None:
        record["d"] = delivered
        self.buffer.append((delivered, self.seq, record))
        self.seq += 1
        if len(self.buffer) >= RUN_SIZE:
            self._spill()

    def _spill(self) -> None:
        if not self.buffer:
            return
        self.buffer.sort(key=lambda x: (x[0], x[1]))
        path = self.work / f"run-{self.name}-{len(self.runs):04d}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for d, seq, record in self.buffer:
                fh.write(json.dumps([d, seq, record], ensure_ascii=False, separators=(",", ":")) + "\n")
        self.runs.append(path)
        self.buffer = []

    def deliveries(self) -> Iterator[dict[str, Any]]:
        """Every delivery of this source in delivery order (a record's ``seq`` breaks ties)."""
        self.buffer.sort(key=lambda x: (x[0], x[1]))  # the last run stays in memory
        readers = [_read_run(p) for p in self.runs] + [iter(self.buffer)]
        for _, seq, record in heapq.merge(*readers, key=lambda x: (x[0], x[1])):
            record["seq"] = seq
            yield record
        for p in self.runs:
            p.unlink(missing_ok=True)
        self.buffer = []


def _read_run(path: Path) -> Iterator[list[Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def utc(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
