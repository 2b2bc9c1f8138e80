"""What the web app reads: a small interface over the ledger, and the shapes it returns.

Pages and API routes only talk to a :class:`ReadModel`; ``hub.web.ledger_model``
implements it over the ledger's tables.  Every method that returns student data
takes the home institution it is scoped to (``None`` = every institution, for
admins only); scoping is done in the query, never by filtering afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from schemas.models import (
    DecisionStatus,
    HostGrade,
    LearningAgreement,
    MobilityState,
    RecognitionDecision,
)

from .agreement import LaChanges, group_of, la_changes

__all__ = [
    "FUNNEL",
    "DeadlineRow",
    "DecisionDetail",
    "DecisionPage",
    "DecisionQuery",
    "DecisionRow",
    "MobilityRow",
    "MonitorData",
    "ReadModel",
    "StudentRow",
]

# the status funnel of the monitor, in lifecycle order
FUNNEL: tuple[MobilityState, ...] = (
    MobilityState.NOMINATED,
    MobilityState.LA_APPROVED,
    MobilityState.STARTED,
    MobilityState.ENDED,
    MobilityState.TOR_ISSUED,
    MobilityState.RECOGNISED,
)

REVIEWABLE = (DecisionStatus.NEEDS_REVIEW, DecisionStatus.NOT_RECOGNISED)  # what the inbox offers to choose for a decision


@dataclass(frozen=True)
class DecisionQuery:
    """Filters of the inbox; every field optional."""

    status: tuple[DecisionStatus, ...] = ()
    text: str = ""  # searched in student ESI, mobility id, component code and title
    host_hei: str | None = None
    omobility_id: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class DecisionRow:
    """The current decision for one (mobility, home component)."""

    decision_id: str
    omobility_id: str
    student_esi: str
    home_hei: str
    host_hei: str
    home_component: str
    home_component_title: str
    version: int
    status: DecisionStatus
    ects: Decimal
    converted_grade: str | None
    rule: str
    reason: str
    decided_at: datetime

    @property
    def reviewable(self) -> bool:
        return self.status in REVIEWABLE


@dataclass(frozen=True)
class DecisionPage:
    items: list[DecisionRow]
    total: int  # matching the query, before limit/offset
    counts: dict[DecisionStatus, int]  # per status under every filter except the status filter


@dataclass(frozen=True)
class MobilityRow:
    omobility_id: str
    student_esi: str
    sending_hei: str
    receiving_hei: str
    state: MobilityState
    la_version: int | None
    ects_planned: Decimal
    ects_recognised: Decimal
    started_on: date | None = None
    ended_on: date | None = None
    tor_issued_on: date | None = None


@dataclass(frozen=True)
class StudentRow:
    """A returning student of the home institution and their mobilities, with decision counts."""

    student_esi: str
    mobilities: list[MobilityRow]
    decisions: dict[DecisionStatus, int]


@dataclass(frozen=True)
class DecisionDetail:
    """Everything a decision page explains: the current version, the earlier ones, the mobility and its LA."""

    current: RecognitionDecision
    history: list[RecognitionDecision]  # earlier versions, newest first
    mobility: MobilityRow | None
    agreements: tuple[LearningAgreement, ...] = ()  # every approved LA version of the mobility, oldest first
    host_grades: dict[str, HostGrade] = field(default_factory=dict)  # host course code -> latest grade the ledger knows

    @property
    def agreement(self) -> LearningAgreement | None:
        """The current (highest approved) LA version."""
        return self.agreements[-1] if self.agreements else None

    @property
    def changes(self) -> LaChanges | None:
        """What the current LA version changed against the one before it."""
        return la_changes(self.agreements[-2], self.agreements[-1]) if len(self.agreements) > 1 else None

    @property
    def group(self) -> tuple[str, ...]:
        """Table A codes of the current LA whose results decide this decision's home component."""
        return group_of(self.agreement, self.current.home_component) if self.agreement else ()


@dataclass(frozen=True)
class DeadlineRow:
    alert_id: str
    omobility_id: str
    sending_hei: str
    receiving_hei: str
    deadline: str
    severity: str
    responsible_hei: str
    due_on: date
    days_left: int


@dataclass
class MonitorData:
    """Aggregates of the whole alliance: no student identifiers."""

    flows: dict[tuple[str, str], int] = field(default_factory=dict)  # (sending, receiving) -> mobilities
    funnel: dict[MobilityState, int] = field(default_factory=dict)  # mobilities that reached each stage
    cancelled: int = 0
    ects: dict[tuple[str, str], tuple[Decimal, Decimal]] = field(default_factory=dict)  # pair -> (planned, recognised)
    deadlines: list[DeadlineRow] = field(default_factory=list)  # days_left counted from ``as_of``
    decisions: dict[DecisionStatus, int] = field(default_factory=dict)
    as_of: date | None = None  # the hub's event-time clock: the latest event the ledger has seen


class ReadModel(Protocol):
    """The web app's view of the ledger."""

    def version(self) -> str:
        """A cheap token that changes whenever the ledger does (drives live updates)."""

    def decisions(self, home_hei: str | None, query: DecisionQuery) -> DecisionPage: ...

    def decision(self, home_hei: str | None, omobility_id: str, home_component: str) -> DecisionDetail | None:
        """The decision of one (mobility, home component) within scope, or None (unknown or not theirs)."""

    def students(self, home_hei: str | None, text: str = "", limit: int = 100, offset: int = 0) -> tuple[list[StudentRow], int]: ...

    def monitor(self) -> MonitorData: ...

    def export(self, home_hei: str, fmt: str) -> str:
        """The home SIS export, byte for byte what ``hub ledger export`` writes (fmt ``csv`` or ``json``)."""
