"""Records and mobilities in hub terms: the canonical JSON lines of ``schemas.models`` events.

A grade keeps the label exactly as its SIS prints it and the scheme id of the shared
contract; ``recorded_at`` is when the record was delivered, so every delivery of the
same record version is the same line.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from schemas.canonical import to_json
from schemas.models import (Enrolment, EnrolmentStatus, Grade, GradeStatus, LaComponent, LearningAgreement,
                            Mobility as MobilityEvent, MobilityLifecycle, RecognitionGroup)

from hub.simulate._calendar import Calendar
from hub.simulate._catalogue import Course
from hub.simulate._delivery import utc
from hub.simulate._mobility import LaVersion, Mobility


def record_event(hei: str, r: dict[str, Any], course: Course, cal: Calendar) -> str:
    """The canonical JSON line of an enrolment or grade record delivery."""
    common = dict(event_id=r["eid"], source_hei=hei, occurred_at=utc(r["t"]), recorded_at=utc(r["d"]),
                  student_id=r["sid"], student_esi=r["esi"], hei=hei, course_code=course.code, ects=course.ects)
    if r["k"] == "enrolment":
        return to_json(Enrolment(**common, term_id=cal.term_id(course.term), status=EnrolmentStatus(r["status"])))
    return to_json(Grade(
        **common, result_id=r["rid"], isced_code=course.isced, grade_label=r["label"],
        grading_scheme_id=course.scheme_id, assessed_on=date.fromisoformat(r["on"]), attempt=r["att"],
        status=GradeStatus(r["st"]), academic_year=cal.year,
    ))


def mobility_event(m: Mobility, lifecycle: str, version: int | None, delivered_ms: int, event_id: str,
                   cal: Calendar) -> str:
    """The canonical JSON line of one lifecycle step of a mobility."""
    when = {"NOMINATED": m.nominated_at, "STARTED": m.started_at, "ENDED": m.ended_at,
            "TOR_ISSUED": m.tor_at, "CANCELLED": m.cancelled_at}
    la = None
    if version is not None:
        v = m.versions[version - 1]
        la, occurred = learning_agreement(v, cal), v.approved_at
    else:
        occurred = when[lifecycle]
    assert occurred is not None
    source = m.host if lifecycle == "TOR_ISSUED" else m.home
    return to_json(MobilityEvent(
        event_id=event_id, source_hei=source, occurred_at=occurred,
        recorded_at=utc(delivered_ms), omobility_id=m.omobility_id, student_esi=m.student.esi,
        student_id=m.student.local_id if source == m.home else None, sending_hei=m.home, receiving_hei=m.host,
        lifecycle=MobilityLifecycle(lifecycle), receiving_academic_year=cal.year, isced_code=m.student.isced,
        planned_start=m.planned_start, planned_end=m.planned_end, learning_agreement=la,
    ))


def learning_agreement(v: LaVersion, cal: Calendar) -> LearningAgreement:
    def comp(c: Course, conditions: str | None = None) -> LaComponent:
        return LaComponent(course_code=c.code, los_id=c.los_id, title=c.title, term_id=cal.term_id(c.term),
                           ects=c.ects, isced_code=c.isced, recognition_conditions=conditions)

    return LearningAgreement(
        version=v.version, approved_at=v.approved_at,
        components_studied=tuple(comp(c) for c in v.studied),
        components_recognized=tuple(comp(c, v.conditions.get(c.code)) for c in v.recognized),
        recognition_groups=tuple(RecognitionGroup(group_id=g, studied=tuple(a), recognized=tuple(b)) for g, a, b in v.groups),
    )
