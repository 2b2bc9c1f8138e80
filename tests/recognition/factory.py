"""Small builders of hub events for recognition tests (deterministic ids and times)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from schemas.institutions import esi as make_esi
from schemas.models import (
    Grade,
    GradeStatus,
    LaComponent,
    LearningAgreement,
    Mobility,
    MobilityLifecycle,
    RecognitionGroup,
    RegistrarAction,
    RegistrarDecision,
)

T0 = datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc)
_NS = uuid.UUID("6f1c6a52-4f0e-4b8e-9d7a-3c1f0e2b7a10")


def eid(name: str) -> str:
    """A stable event id from a readable name."""
    return str(uuid.uuid5(_NS, name))


def at(day: int) -> datetime:
    return T0 + timedelta(days=day)


def comp(code: str, ects: float | str = 5, title: str = "", isced: str | None = None, conditions: str | None = None) -> LaComponent:
    return LaComponent(course_code=code, title=title or f"Course {code}", term_id="2025/2026-1", ects=Decimal(str(ects)),
                       isced_code=isced, recognition_conditions=conditions)


def la(version: int, a: list[LaComponent], b: list[LaComponent], groups: list[tuple[str, list[str], list[str]]] = (), day: int = 0) -> LearningAgreement:
    return LearningAgreement(
        version=version, approved_at=at(day), components_studied=tuple(a), components_recognized=tuple(b),
        recognition_groups=tuple(RecognitionGroup(group_id=g, studied=tuple(s), recognized=tuple(r)) for g, s, r in groups),
    )


class Student:
    """Events of one student's mobility, named so tests read like the scenario."""

    def __init__(self, home: str = "fontys.nl", host: str = "thomasmore.be", code: str = "s1", mobility: str = "M1",
                 year: str = "2025/2026", isced: str | None = "0613"):
        self.home, self.host, self.mobility_id, self.year, self.isced = home, host, mobility, year, isced
        self.esi = make_esi(home, code)

    def mobility(self, lifecycle: MobilityLifecycle | str, day: int = 0, agreement: LearningAgreement | None = None, name: str | None = None) -> Mobility:
        lifecycle = MobilityLifecycle(lifecycle)
        return Mobility(
            event_id=eid(name or f"{self.mobility_id}-{lifecycle.value}-{agreement.version if agreement else ''}-{day}"),
            source_hei=self.home, occurred_at=at(day), recorded_at=at(day), trace_id=f"trace-{self.mobility_id}",
            omobility_id=self.mobility_id, student_esi=self.esi, sending_hei=self.home, receiving_hei=self.host,
            lifecycle=lifecycle, receiving_academic_year=self.year, isced_code=self.isced, learning_agreement=agreement,
        )

    def approved(self, agreement: LearningAgreement, day: int = 0) -> Mobility:
        kind = MobilityLifecycle.LA_APPROVED if agreement.version == 1 else MobilityLifecycle.LA_CHANGED
        return self.mobility(kind, day, agreement)

    def grade(self, code: str, label: str, scheme: str | None = None, *, result: str | None = None, day: int = 100,
              status: str = "FINAL", attempt: int = 1, ects: float | str = 5, hei: str | None = None,
              omobility_id: str | None = None, isced: str | None = None, name: str | None = None) -> Grade:
        hei = hei or self.host
        scheme = scheme or {"thomasmore.be": "thomasmore.be/0-20", "fontys.nl": "fontys.nl/1-10", "ucn.dk": "ucn.dk/7-point",
                            "ipbeja.pt": "ipbeja.pt/0-20", "th-deg.de": "th-deg.de/1-5", "hh.se": "hh.se/U-G-VG",
                            "seamk.fi": "seamk.fi/0-5", "viko.lt": "viko.lt/1-10", "mendelu.cz": "mendelu.cz/A-F"}[hei]
        result = result or f"{code}-{attempt}"
        return Grade(
            event_id=eid(name or f"{self.esi}-{result}-{status}-{label}-{day}"), source_hei=hei, occurred_at=at(day),
            recorded_at=at(day), trace_id=f"trace-{result}", student_id=self.esi.rsplit(":", 1)[1], student_esi=self.esi,
            hei=hei, result_id=result, course_code=code, isced_code=isced, grade_label=label, grading_scheme_id=scheme,
            ects=Decimal(str(ects)), assessed_on=date(2026, 1, 15) + timedelta(days=attempt * 20), attempt=attempt,
            status=GradeStatus(status), academic_year=self.year, omobility_id=omobility_id,
        )

    def registrar(self, decision_id: str, component: str, action: str = "APPROVE", *, day: int = 200,
                  ects: float | None = None, grade: str | None = None, who: str = "registrar1", reason: str = "checked") -> RegistrarDecision:
        return RegistrarDecision(
            event_id=eid(f"reg-{decision_id}-{action}-{day}-{who}"), source_hei=self.home, occurred_at=at(day),
            recorded_at=at(day), decision_id=decision_id, omobility_id=self.mobility_id, home_hei=self.home,
            home_component=component, action=RegistrarAction(action), reason=reason, registrar=who,
            ects=None if ects is None else Decimal(str(ects)), converted_grade=grade,
        )
