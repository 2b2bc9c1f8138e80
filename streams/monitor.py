"""The monitor's rules (pure): mobility lifecycle, ECTS planned vs recognised, and the deadline agenda.

:class:`StudentMonitor` keeps, per mobility of one student, what the status line
needs and returns a :class:`~schemas.models.MobilityStatus` whenever that line
changes, plus the deadlines the event opened or closed.  :class:`Agenda` holds the
open deadlines of one partition and raises alerts as event time passes their
moments (``streams.deadlines``).  Both are JSON-compatible dicts underneath, for
faust tables.
"""

from __future__ import annotations

import hashlib
import heapq
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from schemas.building import built, setters
from schemas.models import (DeadlineAlert, DeadlineKind, DecisionStatus, Event, Mobility, MobilityState, MobilityStatus, RecognitionDecision)

from streams.deadlines import Due, make_alert, moments
from streams.recognition.ids import uuid5_namer

__all__ = ["StudentMonitor", "Agenda", "MonitorChanges"]

_status_id = uuid5_namer(uuid.uuid5(uuid.NAMESPACE_URL, "https://heroes-hub.eu/streams/mobility-status"))
_RANK = {"NOMINATED": 0, "LA_APPROVED": 1, "LA_CHANGED": 1, "STARTED": 2, "ENDED": 3, "TOR_ISSUED": 4}
_STATE_OF_RANK = [MobilityState.NOMINATED, MobilityState.LA_APPROVED, MobilityState.STARTED, MobilityState.ENDED, MobilityState.TOR_ISSUED]
_RECOGNISED = {DecisionStatus.AUTO_RECOGNISED.value, DecisionStatus.MANUALLY_RECOGNISED.value}
_SYMBOL = {state: state.value for state in MobilityState}  # an enum's .value is a Python-level property
_NEEDS_REVIEW = DecisionStatus.NEEDS_REVIEW.value
_TOR_ISSUE, _RECOGNITION = DeadlineKind.TOR_ISSUE.value, DeadlineKind.RECOGNITION.value
_ZERO = Decimal("0.00")
_UNDECIDED = (0, "")
_STATUS_FIELDS = set(MobilityStatus.model_fields)
_STATUS_SET = setters(MobilityStatus)
_FINAL = _RECOGNISED | {DecisionStatus.NOT_RECOGNISED.value, DecisionStatus.REJECTED.value, DecisionStatus.REVOKED.value}


@dataclass
class MonitorChanges:
    """What one event changed: status lines to publish, deadlines opened and closed."""

    statuses: list[MobilityStatus] = field(default_factory=list)
    opened: list[Due] = field(default_factory=list)
    closed: list[tuple[str, str, int]] = field(default_factory=list)  # (omobility_id, DeadlineKind value, when in ms)
    met: list[tuple[Due, int]] = field(default_factory=list)  # deadlines met, with when (ms): late ones still raise


_EPOCH_DAY = date(1970, 1, 1).toordinal()
_MS_PER_DAY = 86_400_000


def _day(ms: int | None) -> date | None:
    """The UTC day of a moment in milliseconds (integer arithmetic: a status line needs up to five)."""
    return None if ms is None else date.fromordinal(_EPOCH_DAY + ms // _MS_PER_DAY)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class StudentMonitor:
    """The monitor state of one student's mobilities (``data`` is the JSON dict, changed in place)."""

    def __init__(self, esi: str, data: dict | None = None) -> None:
        self.esi = esi
        self.data: dict[str, dict] = data if data is not None else {}

    def apply(self, event: Event) -> MonitorChanges:
        if isinstance(event, Mobility):
            return self._mobility(event)
        if isinstance(event, RecognitionDecision):
            return self._decision(event)
        return MonitorChanges()

    def _get(self, omobility_id: str) -> dict:
        m = self.data.get(omobility_id)
        if m is None:
            m = self.data[omobility_id] = {"steps": {}, "decisions": {}, "la": 0, "planned": "0.00", "table_b": [],
                                           "s": None, "r": None, "tor_days": None, "rec_days": None, "last": ""}
        return m

    def _mobility(self, ev: Mobility) -> MonitorChanges:
        m = self._get(ev.omobility_id)
        m["s"], m["r"] = ev.sending_hei, ev.receiving_hei
        step = ev.lifecycle.value
        at = _ms(ev.occurred_at)
        if step not in m["steps"] or at < m["steps"][step]:
            m["steps"][step] = at
        if ev.tor_deadline_days is not None:
            m["tor_days"] = ev.tor_deadline_days
        if ev.recognition_deadline_days is not None:
            m["rec_days"] = ev.recognition_deadline_days
        la = ev.learning_agreement
        if la is not None and la.version >= m["la"]:
            m["la"] = la.version
            m["planned"] = str(sum((c.ects for c in la.components_recognized), Decimal("0.00")))
            m["table_b"] = sorted(c.course_code for c in la.components_recognized)
        return self._changes(ev.omobility_id, m, ev)

    def _decision(self, d: RecognitionDecision) -> MonitorChanges:
        m = self._get(d.omobility_id)
        m["s"], m["r"] = m["s"] or d.home_hei, m["r"] or d.host_hei
        prev = m["decisions"].get(d.home_component)
        if prev is None or d.version >= prev[0]:
            m["decisions"][d.home_component] = [d.version, d.status.value, str(d.ects)]
        return self._changes(d.omobility_id, m, d)

    def _changes(self, omobility_id: str, m: dict, trigger: Event) -> MonitorChanges:
        out = MonitorChanges()
        steps = m["steps"]
        cancelled = "CANCELLED" in steps
        if m["s"] and m["r"]:
            ended_ms, tor_ms = steps.get("ENDED"), steps.get("TOR_ISSUED")
            at_ms = _ms(trigger.occurred_at)
            if ended_ms is not None and tor_ms is None and not cancelled:
                out.opened.append(Due.tor(omobility_id, m["s"], m["r"], _day(ended_ms), m["tor_days"]))
            elif ended_ms is not None and tor_ms is not None and not cancelled:
                # met, perhaps late: the ToR's own time says which alerts were due before it, whatever order the events came in
                due = Due.tor(omobility_id, m["s"], m["r"], _day(ended_ms), m["tor_days"])
                if m.get("met") != [due.due_on.isoformat(), tor_ms]:
                    m["met"] = [due.due_on.isoformat(), tor_ms]
                    out.met.append((due, tor_ms))
            else:
                out.closed.append((omobility_id, _TOR_ISSUE, at_ms))
            if tor_ms is not None and not cancelled and any(v[1] == _NEEDS_REVIEW for v in m["decisions"].values()):
                out.opened.append(Due.recognition(omobility_id, m["s"], m["r"], _day(tor_ms), m["rec_days"]))
            else:
                out.closed.append((omobility_id, _RECOGNITION, at_ms))
        status = self._status(omobility_id, m, cancelled, trigger)
        if status is not None:
            out.statuses.append(status)
        return out

    def _status(self, omobility_id: str, m: dict, cancelled: bool, trigger: Event) -> MobilityStatus | None:
        steps = m["steps"]
        if not (m["s"] and m["r"]) or not steps:
            return None
        decided = m["decisions"]
        recognised = sum([Decimal(v[2]) for v in decided.values() if v[1] in _RECOGNISED], _ZERO)
        if cancelled:
            state = MobilityState.CANCELLED
        else:
            ranks = [_RANK[s] for s in steps if s in _RANK]
            state = _STATE_OF_RANK[max(ranks)] if ranks else MobilityState.NOMINATED
            if "TOR_ISSUED" in steps and m["table_b"] and all(decided.get(c, _UNDECIDED)[1] in _FINAL for c in m["table_b"]):
                state = MobilityState.RECOGNISED
        line = "|".join((omobility_id, _SYMBOL[state], str(m["la"]), m["planned"], str(recognised),
                         str(steps.get("STARTED")), str(steps.get("ENDED")), str(steps.get("TOR_ISSUED"))))
        digest = hashlib.sha256(line.encode()).hexdigest()[:16]
        if digest == m["last"]:
            return None
        m["last"] = digest
        # every value is of its field's type already (validated events, sums of quantised ECTS): no second validation
        return built(MobilityStatus, _STATUS_FIELDS, _STATUS_SET, {
            "event_id": _status_id(line), "event_type": "MobilityStatus", "source_hei": "hub",
            "occurred_at": trigger.occurred_at, "recorded_at": trigger.occurred_at, "schema_version": 1,
            "trace_id": trigger.trace_id or trigger.event_id, "omobility_id": omobility_id, "student_esi": self.esi,
            "sending_hei": m["s"], "receiving_hei": m["r"], "state": state, "la_version": m["la"] or None,
            "ects_planned": Decimal(m["planned"]), "ects_recognised": recognised, "started_on": _day(steps.get("STARTED")),
            "ended_on": _day(steps.get("ENDED")), "tor_issued_on": _day(steps.get("TOR_ISSUED")),
        })


def _key(omobility_id: str, kind: str) -> str:
    return f"{omobility_id}|{kind}"  # advance() splits it again at the last "|"


class Agenda:
    """The open deadlines of one partition, and the event-time clock that fires them.

    ``data`` is the JSON form (``{"clock": ms, "items": {key: entry}}``); a heap of
    (next moment, key) makes :meth:`advance` cost nothing while no deadline is due,
    however many are open.  :meth:`take_changes` tells a store what changed since it
    last asked (items written or gone, the clock), so it writes only those.
    """

    def __init__(self, data: dict | None = None) -> None:
        self.data = data if data is not None else {"clock": 0, "items": {}}
        self.dirty: set[str] = set()
        self._saved_clock = self.data["clock"]
        self._heap: list[tuple[int, str]] = [(v["next"], k) for k, v in self.data["items"].items() if v["next"] is not None]
        heapq.heapify(self._heap)

    @property
    def clock(self) -> int:
        return self.data["clock"]

    def take_changes(self) -> tuple[dict[str, dict | None], int | None]:
        """What changed since the last call: the changed items (None: gone) and the clock if it moved."""
        items = self.data["items"]
        changed = {key: items.get(key) for key in sorted(self.dirty)}
        self.dirty.clear()
        clock = self.data["clock"] if self.data["clock"] != self._saved_clock else None
        self._saved_clock = self.data["clock"]
        return changed, clock

    def next_moment(self) -> int | None:
        """The earliest moment (ms) an open deadline fires at, or None."""
        items = self.data["items"]
        while self._heap and items.get(self._heap[0][1], {}).get("next") != self._heap[0][0]:
            heapq.heappop(self._heap)  # a closed or rescheduled item's old place
        return self._heap[0][0] if self._heap else None

    def _put(self, key: str, entry: dict) -> None:
        self.data["items"][key] = entry
        self.dirty.add(key)
        if entry["next"] is not None:
            heapq.heappush(self._heap, (entry["next"], key))

    def open(self, due: Due) -> bool:
        key = _key(due.omobility_id, due.kind.value)
        entry = {"s": due.sending_hei, "r": due.receiving_hei, "due": due.due_on.isoformat()}
        old = self.data["items"].get(key)
        if old is not None and old["due"] == entry["due"]:
            return False
        entry["fired"] = []
        entry["next"] = _ms(moments(due)[0][1])
        self._put(key, entry)
        return True

    def settle(self, due: Due, met_ms: int, trace_id: str = "") -> list[DeadlineAlert]:
        """``due`` was met at ``met_ms``: close it (see :meth:`_end`)."""
        entry = self._pop(_key(due.omobility_id, due.kind.value))
        fired = entry["fired"] if entry is not None and entry["due"] == due.due_on.isoformat() else []
        return self._end(due, fired, met_ms, trace_id)

    def close(self, omobility_id: str, kind: str, at_ms: int, trace_id: str = "") -> list[DeadlineAlert]:
        """The obligation ended at ``at_ms`` (met, or no longer owed): forget it (see :meth:`_end`)."""
        entry = self._pop(_key(omobility_id, kind))
        if entry is None:
            return []
        due = Due(omobility_id, entry["s"], entry["r"], DeadlineKind(kind), date.fromisoformat(entry["due"]))
        return self._end(due, entry["fired"], at_ms, trace_id)

    def _pop(self, key: str) -> dict | None:
        entry = self.data["items"].pop(key, None)
        if entry is not None:
            self.dirty.add(key)
        return entry

    @staticmethod
    def _end(due: Due, fired: list[str], at_ms: int, trace_id: str) -> list[DeadlineAlert]:
        """The alerts an obligation ended at ``at_ms`` owes, whatever order its events came in: those whose moments came
        before the end and have not fired are raised; those that fired for a later moment (the partition's clock ran
        ahead of this partner's events) are withdrawn."""
        out = []
        for severity, moment, days_left in moments(due):
            early = _ms(moment) > at_ms
            if (severity.value in fired) == early:
                out.append(make_alert(due, severity, moment, days_left, trace_id, withdrawn=early))
        return out

    def advance(self, to_ms: int, trace_id: str = "") -> list[DeadlineAlert]:
        """Move the clock forward to ``to_ms`` (never back) and raise every alert due by then."""
        if to_ms > self.data["clock"]:
            self.data["clock"] = to_ms
        now = self.data["clock"]
        first = self.next_moment()
        if first is None or first > now:
            return []
        due_keys = set()
        while self._heap and self._heap[0][0] <= now:
            moment, key = heapq.heappop(self._heap)
            if self.data["items"].get(key, {}).get("next") == moment:
                due_keys.add(key)
        alerts: list[DeadlineAlert] = []
        for key in sorted(due_keys):
            entry = self.data["items"][key]
            omobility_id, kind = key.rsplit("|", 1)
            due = Due(omobility_id, entry["s"], entry["r"], DeadlineKind(kind), date.fromisoformat(entry["due"]))
            for severity, moment, days_left in moments(due):
                if severity.value not in entry["fired"] and _ms(moment) <= now:
                    alerts.append(make_alert(due, severity, moment, days_left, trace_id))
                    entry["fired"].append(severity.value)
            pending = [_ms(m) for s, m, _ in moments(due) if s.value not in entry["fired"]]
            entry["next"] = min(pending) if pending else None  # all fired: kept until met or closed, to know what fired
            self._put(key, entry)
        return alerts
