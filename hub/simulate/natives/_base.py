"""What every native writer shares: counting, the bad-record log, the hub-event sink, bad-record pacing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from hub.simulate._calendar import Calendar
from hub.simulate._catalogue import Catalogue, Course
from hub.simulate._delivery import utc
from hub.simulate._events import record_event
from hub.simulate._grades import printed
from hub.simulate._rand import Rand
from schemas.grading import SCHEMES

KIND_TOPIC = {"enrolment": "enrolments", "grade": "grades", "mobility": "mobilities"}


@dataclass
class SourceCounts:
    """Exact counts of one source (``<schac>/sis`` or ``<schac>/ewp``), written to expected/counts.json."""

    source: str
    format: str
    deliveries: int = 0  # native records written: good ones (duplicates included), bad ones, reference data
    good: Counter = field(default_factory=Counter)  # topic kind -> distinct good events
    duplicates: Counter = field(default_factory=Counter)  # topic kind -> extra deliveries of a good record
    late: Counter = field(default_factory=Counter)  # topic kind -> good records delivered after newer ones
    bad: Counter = field(default_factory=Counter)  # badness -> records
    bad_topics: Counter = field(default_factory=Counter)  # topic kind the bad record pretended to be
    reference: Counter = field(default_factory=Counter)  # students, courses, ... (no hub event)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "deliveries": self.deliveries,
            "good": dict(sorted(self.good.items())), "duplicates": dict(sorted(self.duplicates.items())),
            "late": dict(sorted(self.late.items())), "bad": sum(self.bad.values()),
            "bad_by_kind": dict(sorted(self.bad.items())), "bad_by_topic": dict(sorted(self.bad_topics.items())),
            "reference": dict(sorted(self.reference.items())),
        }


class EventSink:
    """Hub events of one source, each prefixed by its merge key (delivery time, source order, sequence)."""

    def __init__(self, path: Path, order: int):
        self.path, self.order = path, order
        self.fh: IO[str] = path.open("w", encoding="utf-8")
        self.latest_occurred = 0

    def write(self, delivered_ms: int, seq: int, line: str, occurred_ms: int) -> None:
        self.fh.write(f"{delivered_ms}\t{self.order}\t{seq}\t{line}\n")
        self.latest_occurred = max(self.latest_occurred, occurred_ms)

    def close(self) -> None:
        self.fh.close()


class BadLog:
    """``expected/bad.jsonl``: every bad record, where it is and what is wrong with it."""

    def __init__(self, path: Path):
        self.fh: IO[str] = path.open("w", encoding="utf-8")

    def add(self, source: str, badness: str, topic: str, where: dict[str, Any], detail: str) -> None:
        self.fh.write(json.dumps({"source": source, "kind": badness, "topic_kind": topic, **where, "detail": detail},
                                 ensure_ascii=False, sort_keys=True) + "\n")

    def close(self) -> None:
        self.fh.close()


@dataclass
class Context:
    """Everything a writer of one partner needs."""

    hei: str
    root: Path  # the simulation folder
    cal: Calendar
    catalogue: Catalogue
    bad_share: float
    rng: Rand  # for bad records and format details; never shared with the generator
    events: EventSink
    bad_log: BadLog
    counts: SourceCounts

    @property
    def folder(self) -> Path:
        return self.root / self.hei


class SisWriter:
    """Base of the nine SIS writers: feeds deliveries in order, emits hub events, paces bad records.

    Subclasses render one record (``student``, ``enrolment``, ``grade``) in their format and one bad
    record of a kind from ``BAD_KINDS``; bad records go right after a good one, at ``bad_share``.
    """

    FORMAT = ""
    BAD_KINDS: tuple[str, ...] = ()

    def __init__(self, ctx: Context):
        self.ctx = ctx
        order = list(self.BAD_KINDS)
        ctx.rng.shuffle(order)
        self._bad_order = order
        self._bad_count = 0

    # -- hooks ---------------------------------------------------------------
    def open(self) -> None: ...

    def close(self) -> None: ...

    def student(self, r: dict[str, Any]) -> None:
        raise NotImplementedError

    def record(self, r: dict[str, Any], course: Course) -> None:
        raise NotImplementedError

    def bad(self, badness: str, near: dict[str, Any], course: Course) -> tuple[dict[str, Any], str]:
        """Write one bad record; return where it is (for bad.jsonl) and a short description."""
        raise NotImplementedError

    def occurred(self, r: dict[str, Any]) -> int:
        """The event time (epoch ms) a connector reads from this format (default: the record's own time)."""
        return r["t"]

    # -- the loop -------------------------------------------------------------
    def run(self, deliveries: Iterator[dict[str, Any]]) -> SourceCounts:
        ctx, counts = self.ctx, self.ctx.counts
        self.open()
        last: tuple[dict[str, Any], Course] | None = None
        for r in deliveries:
            counts.deliveries += 1
            if r["k"] == "student":
                counts.reference["students"] += 1
                self.student(r)
                continue
            course = ctx.catalogue.by_code[r["code"]]
            self.record(r, course)
            topic = KIND_TOPIC[r["k"]]
            if r["dup"]:
                counts.duplicates[topic] += 1
            else:
                counts.good[topic] += 1
                counts.late[topic] += r["late"]
            occurred = self.occurred(r)
            line = record_event(ctx.hei, r, course, ctx.cal, occurred)
            ctx.events.write(r["d"], r["seq"], line, occurred)
            last = (r, course)
            if self.BAD_KINDS and ctx.rng.chance(ctx.bad_share):
                self._one_bad(r, course)
        if last is not None and self.BAD_KINDS and ctx.bad_share > 0 and self._bad_count == 0:
            self._one_bad(*last)
        self.close()
        return counts

    def _one_bad(self, near: dict[str, Any], course: Course) -> None:
        badness = self._bad_order[self._bad_count % len(self._bad_order)]
        self._bad_count += 1
        where, detail = self.bad(badness, near, course)
        topic = where.pop("topic", "grades")
        self.ctx.counts.deliveries += 1
        self.ctx.counts.bad[badness] += 1
        self.ctx.counts.bad_topics[topic] += 1
        self.ctx.bad_log.add(self.ctx.counts.source, badness, topic, where, detail)

    def sample_grade(self, near: dict[str, Any], course: Course, rid: str, attempt: int = 1) -> dict[str, Any]:
        """A plausible grade record next to ``near`` (an enrolment or a grade), for a bad record to spoil."""
        label = near["label"] if near["k"] == "grade" else printed(self.ctx.rng, course.scheme_id, SCHEMES[course.scheme_id].passing_labels[0])
        return {**near, "k": "grade", "rid": rid, "v": 1, "st": "FINAL", "att": attempt, "label": label,
                "on": near.get("on") or utc(near["t"]).date().isoformat()}

    def rel(self, path: Path) -> str:
        return path.relative_to(self.ctx.root).as_posix()
