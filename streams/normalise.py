"""The normaliser's rules (pure): partner events in local terms -> validated hub events keyed by ESI.

One :class:`PartnerStudent` per (partner, local student id), which is also the
key of the ``sis.<hei>.*`` topics, so its state is co-partitioned with every
event that needs it.  It remembers the student's ESI (learned from that
partner's enrolment and mobility events) and the ids of recent events, to drop
exact duplicates within a bounded window (at most ``max_ids`` ids, none older
than ``window_days`` before the newest), so the state never grows without bound.

The partner's topics are read concurrently, so a grade without ESI may come
before the enrolment that names the student.  Such an event is *held* (at most
``max_held`` per student, for at most ``window_days`` of event time) and released
when the ESI arrives; one that outlives the hold is dead-lettered as
"unknown student".

    >>> n = Normaliser()
    >>> out = n.normalise("hh.se", grade_event, PartnerStudent())   # doctest: +SKIP
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from schemas.grading import UnknownGrade, UnknownScheme, scheme
from schemas.institutions import BY_SCHAC
from schemas.canonical import from_json, to_json
from schemas.models import Enrolment, Event, Grade, Mobility

from streams.dlq import Rejected

__all__ = ["PartnerStudent", "Normaliser", "Outcome", "Held", "KIND_OF", "UNKNOWN_STUDENT"]

KIND_OF: dict[type[Event], str] = {Enrolment: "enrolments", Grade: "grades", Mobility: "mobilities"}
_DAY_MS = 86_400_000
UNKNOWN_STUDENT = "unknown-student"


@dataclass
class Held:
    """An event waiting for its student's ESI, with what a dead letter needs if it waits too long."""

    event: Event
    payload: bytes
    topic: str
    partition: int | None
    offset: int | None

    def to_dict(self) -> dict:
        return {"json": to_json(self.event), "raw": base64.b64encode(self.payload).decode(), "topic": self.topic,
                "partition": self.partition, "offset": self.offset}

    @classmethod
    def from_dict(cls, d: dict) -> "Held":
        return cls(from_json(d["json"]), base64.b64decode(d["raw"]), d["topic"], d["partition"], d["offset"])


@dataclass
class Outcome:
    """What one event leads to: hub events to publish, held events given up on (dead letters)."""

    events: list[Event] = field(default_factory=list)
    expired: list[Held] = field(default_factory=list)
    duplicate: bool = False
    held: bool = False


@dataclass
class PartnerStudent:
    """What the normaliser knows about one local student id of one partner."""

    esi: str | None = None
    seen: dict[str, int] = field(default_factory=dict)  # event_id -> recorded_at (ms), oldest first
    held: list[Held] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"esi": self.esi, "seen": self.seen, "held": [h.to_dict() for h in self.held]}

    @classmethod
    def from_dict(cls, data: dict | None) -> "PartnerStudent":
        if not data:
            return cls()
        return cls(esi=data.get("esi"), seen=dict(data.get("seen") or {}), held=[Held.from_dict(h) for h in data.get("held") or ()])

    def remember(self, event_id: str, at_ms: int, window_days: int, max_ids: int) -> bool:
        """Record an event id; False if it was seen within the window (a duplicate)."""
        if event_id in self.seen:
            return False
        self.seen[event_id] = at_ms
        newest = max(self.seen.values())
        horizon = newest - window_days * _DAY_MS
        if len(self.seen) > max_ids or min(self.seen.values()) < horizon:
            kept = sorted(((t, e) for e, t in self.seen.items() if t >= horizon), reverse=True)[:max_ids]
            self.seen = {e: t for t, e in sorted(kept)}
        return True


class Normaliser:
    """Validates a partner event, resolves its student to an ESI, drops duplicates; raises Rejected."""

    def __init__(self, window_days: int = 60, max_ids: int = 2000, max_held: int = 64) -> None:
        self.window_days, self.max_ids, self.max_held = window_days, max_ids, max_held

    def accept(self, partner: str, event: Event, state: PartnerStudent, *, payload: bytes = b"", topic: str = "",
               partition: int | None = None, offset: int | None = None) -> Outcome:
        """Everything ``event`` from ``sis.<partner>.*`` leads to, holding it while its student is unknown."""
        out = Outcome()
        try:
            one = self.normalise(partner, event, state)
        except Rejected as exc:
            if exc.kind != "unknown-student":
                raise
            state.held.append(Held(event, payload, topic, partition, offset))
            out.held = True
        else:
            if one is None:
                out.duplicate = True
            else:
                out.events.append(one)
        if state.esi is not None and state.held:
            waiting, state.held = state.held, []
            for h in waiting:
                one = self.normalise(partner, h.event, state)
                if one is not None:
                    out.events.append(one)
        newest = max((_ms(h.event) for h in state.held), default=0)
        keep = [h for h in state.held if _ms(h.event) >= newest - self.window_days * _DAY_MS]
        out.expired = [h for h in state.held if h not in keep] + keep[: max(0, len(keep) - self.max_held)]
        state.held = keep[max(0, len(keep) - self.max_held):]
        return out

    def normalise(self, partner: str, event: Event, state: PartnerStudent) -> Event | None:
        """The hub form of ``event`` read from ``sis.<partner>.*``; None for a duplicate. Mutates ``state``."""
        if event.source_hei != partner:
            raise Rejected("wrong-partner", f"source_hei {event.source_hei!r} on a topic of {partner}: a partner publishes only as itself")
        update: dict[str, object] = {}
        if isinstance(event, Grade):
            label = self._grade_label(partner, event)
            if label != event.grade_label:
                update["grade_label"] = label
        elif isinstance(event, Enrolment):
            self._own_institution(partner, event.hei, "enrolment")
        elif isinstance(event, Mobility):
            self._mobility(partner, event)
        else:
            raise Rejected("wrong-topic", f"a {event.record_name} does not belong on a partner topic")
        esi = event.student_esi or state.esi
        if esi is None:
            raise Rejected(
                "unknown-student",
                f"unknown student {getattr(event, 'student_id', None)!r} at {partner}: the event has no student_esi and no "
                f"enrolment or mobility of {partner} named this student's ESI before; publish the enrolment first or set student_esi",
            )
        if event.student_esi and not isinstance(event, Grade):
            state.esi = event.student_esi
        if not state.remember(event.event_id, _ms(event), self.window_days, self.max_ids):
            return None
        if event.student_esi != esi:
            update["student_esi"] = esi
        return event.model_copy(update=update) if update else event

    def _own_institution(self, partner: str, hei: str, what: str) -> None:
        if hei not in BY_SCHAC:
            raise Rejected("unknown-institution", f"{what} at {hei!r}, not a HEROES partner: known are {', '.join(BY_SCHAC)}")
        if hei != partner:
            raise Rejected("wrong-institution", f"{what} at {hei} published by {partner}: each partner publishes its own {what}s")

    def _grade_label(self, partner: str, g: Grade) -> str:
        self._own_institution(partner, g.hei, "grade")
        try:
            s = scheme(g.grading_scheme_id)
        except UnknownScheme as exc:
            raise Rejected("unknown-scheme", str(exc)) from None
        if s.hei != g.hei:
            raise Rejected("wrong-scheme", f"grading scheme {s.id} belongs to {s.hei}, not to {g.hei}")
        try:
            return s.normalise(g.grade_label)
        except UnknownGrade as exc:
            raise Rejected("unknown-grade", str(exc)) from None

    def _mobility(self, partner: str, m: Mobility) -> None:
        for hei in (m.sending_hei, m.receiving_hei):
            if hei not in BY_SCHAC:
                raise Rejected("unknown-institution", f"mobility {m.omobility_id} names {hei!r}, not a HEROES partner: known are {', '.join(BY_SCHAC)}")
        if partner not in (m.sending_hei, m.receiving_hei):
            raise Rejected("wrong-partner", f"mobility {m.omobility_id} is between {m.sending_hei} and {m.receiving_hei}, not {partner}")


def _ms(event: Event) -> int:
    return int(event.recorded_at.timestamp() * 1000)
