"""Erasmus deadlines on event time (pure): when a warning or a breach is due, and the alert it raises.

- the host issues the ToR within ``tor_days`` (default 35) after the mobility ends;
- the home institution decides every item needing review within
  ``recognition_days`` (default 35) after the ToR;
- an inter-institutional agreement may set other periods (the Mobility event's
  ``tor_deadline_days`` / ``recognition_deadline_days``).

A WARNING is raised at 00:00 UTC seven days before the due day, a BREACH at 00:00
UTC the day after it, if the obligation is still open at that moment of *event
time* (the latest ``occurred_at`` the stream has seen), so replaying last year's
events raises the same alerts with the same ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from schemas.building import built, setters
from schemas.models import AlertSeverity, DeadlineAlert, DeadlineKind
from streams.recognition.ids import uuid5_namer

__all__ = ["TOR_DAYS", "RECOGNITION_DAYS", "WARNING_DAYS", "Due", "moments", "alert_id", "make_alert", "day_ms"]

TOR_DAYS = 35
RECOGNITION_DAYS = 35
WARNING_DAYS = 7
_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://heroes-hub.eu/streams/deadlines")
_name_uuid = uuid5_namer(_NS)
_ALERT_FIELDS = set(DeadlineAlert.model_fields)
_ALERT_SET = setters(DeadlineAlert)


@dataclass(frozen=True)
class Due:
    """One open obligation of one mobility."""

    omobility_id: str
    sending_hei: str
    receiving_hei: str
    kind: DeadlineKind
    due_on: date

    @property
    def responsible_hei(self) -> str:
        return self.receiving_hei if self.kind is DeadlineKind.TOR_ISSUE else self.sending_hei

    @classmethod
    def tor(cls, omobility_id: str, sending: str, receiving: str, ended_on: date, days: int | None) -> "Due":
        return cls(omobility_id, sending, receiving, DeadlineKind.TOR_ISSUE, ended_on + timedelta(days=days or TOR_DAYS))

    @classmethod
    def recognition(cls, omobility_id: str, sending: str, receiving: str, tor_on: date, days: int | None) -> "Due":
        return cls(omobility_id, sending, receiving, DeadlineKind.RECOGNITION, tor_on + timedelta(days=days or RECOGNITION_DAYS))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc)


def moments(due: Due) -> list[tuple[AlertSeverity, datetime, int]]:
    """(severity, moment it fires, days left then) for the warning and the breach of ``due``."""
    return [
        (AlertSeverity.WARNING, _midnight(due.due_on - timedelta(days=WARNING_DAYS)), WARNING_DAYS),
        (AlertSeverity.BREACH, _midnight(due.due_on + timedelta(days=1)), -1),
    ]


def alert_id(omobility_id: str, kind: DeadlineKind | str, severity: AlertSeverity | str, due_on: date) -> str:
    """Derived from mobility, deadline, severity and due day: the same alert always has the same id."""
    k = getattr(kind, "value", kind)
    s = getattr(severity, "value", severity)
    return _name_uuid(f"{omobility_id}|{k}|{s}|{due_on.isoformat()}")


def make_alert(due: Due, severity: AlertSeverity, moment: datetime, days_left: int, trace_id: str = "",
               withdrawn: bool = False) -> DeadlineAlert:
    """The DeadlineAlert raised (or withdrawn) at ``moment``; its envelope is derived too, so a replay repeats it exactly."""
    aid = alert_id(due.omobility_id, due.kind, severity, due.due_on)
    # every value is of its field's type already (a Due holds validated values; moments are UTC midnights): built
    # without a second validation, as status lines are
    return built(DeadlineAlert, _ALERT_FIELDS, _ALERT_SET, {
        "event_id": _name_uuid(f"{aid}|withdrawn") if withdrawn else aid, "event_type": "DeadlineAlert",
        "source_hei": "hub", "occurred_at": moment, "recorded_at": moment, "schema_version": 1, "trace_id": trace_id,
        "alert_id": aid, "omobility_id": due.omobility_id, "sending_hei": due.sending_hei,
        "receiving_hei": due.receiving_hei, "deadline": due.kind, "severity": severity,
        "responsible_hei": due.responsible_hei, "due_on": due.due_on, "days_left": days_left, "withdrawn": withdrawn,
    })


def day_ms(ms: int) -> int:
    """The start (00:00 UTC) of the day of ``ms``, in ms."""
    return ms - ms % 86_400_000
