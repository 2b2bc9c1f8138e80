"""Records and mobilities in hub terms: the canonical JSON lines of ``schemas.models`` events.

A grade keeps the label exactly as its SIS prints it and the scheme id of the shared
contract; ``recorded_at`` is when the record was delivered, so every delivery of the
same record version is the same line.
"""

from __future__ import annotations

from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from hub.simulate._calendar import Calendar
from hub.simulate._catalogue import Course
from hub.simulate._delivery import utc
from hub.simulate._mobility import LaVersion, Mobility
from hub.simulate._rand import iso_ms
from schemas.canonical import to_json
from schemas.models import (
    LaComponent,
    LearningAgreement,
    MobilityLifecycle,
    RecognitionGroup,
)
from schemas.models import Mobility as MobilityEvent

_s = encode_basestring  # a JSON string literal, non-ASCII kept as is (as pydantic prints it)


def record_event(hei: str, r: dict[str, Any], course: Course, cal: Calendar, occurred_ms: int) -> str:
    """The canonical JSON line of an enrolment or grade record delivery.

    Written directly in the field order of the Avro records, exactly as ``schemas.canonical.to_json``
    prints it (the tests check every line round-trips through ``from_json``/``to_json`` unchanged);
    going through pydantic costs ten times as much, and this runs for millions of records.
    """
    head = (f'{{"event_id":"{r["eid"]}","event_type":"{"Enrolment" if r["k"] == "enrolment" else "Grade"}",'
            f'"source_hei":"{hei}","occurred_at":"{iso_ms(occurred_ms)}","recorded_at":"{iso_ms(r["rec"])}",'
            f'"schema_version":1,"trace_id":"","student_id":{_s(r["sid"])},"student_esi":{_s(r["esi"])},"hei":"{hei}",')
    if r["k"] == "enrolment":
        return (f'{head}"course_code":{_s(course.code)},"los_id":null,"term_id":"{cal.term_id(course.term)}",'
                f'"ects":{float(course.ects)!r},"status":"{r["status"]}","omobility_id":null}}')
    return (f'{head}"result_id":{_s(r["rid"])},"course_code":{_s(course.code)},"los_id":null,"loi_id":null,'
            f'"isced_code":"{course.isced}","grade_label":{_s(r["label"])},"grading_scheme_id":"{course.scheme_id}",'
            f'"ects":{float(course.ects)!r},"assessed_on":"{r["on"]}","attempt":{r["att"]},"status":"{r["st"]}",'
            f'"academic_year":"{cal.year}","omobility_id":null}}')


def mobility_event(m: Mobility, lifecycle: str, version: int | None, recorded_ms: int, event_id: str,
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
        recorded_at=utc(recorded_ms), omobility_id=m.omobility_id, student_esi=m.student.esi,
        student_id=m.student.local_id if source == m.home else None, sending_hei=m.home, receiving_hei=m.host,
        lifecycle=MobilityLifecycle(lifecycle), receiving_academic_year=cal.year, isced_code=m.student.isced,
        planned_start=m.planned_start, planned_end=m.planned_end, learning_agreement=la,
    ))


def learning_agreement(v: LaVersion, cal: Calendar) -> LearningAgreement:
    # An EWP component names no ISCED field: the home connector adds it for its own (Table B) courses only.
    def comp(c: Course, conditions: str | None = None, isced: str | None = None) -> LaComponent:
        return LaComponent(course_code=c.code, los_id=c.los_id, title=c.title, term_id=cal.term_id(c.term),
                           ects=c.ects, isced_code=isced, recognition_conditions=conditions)

    return LearningAgreement(
        version=v.version, approved_at=v.approved_at,
        components_studied=tuple(comp(c) for c in v.studied),
        components_recognized=tuple(comp(c, v.conditions.get(c.code), c.isced) for c in v.recognized),
        recognition_groups=tuple(RecognitionGroup(group_id=g, studied=tuple(a), recognized=tuple(b)) for g, a, b in v.groups),
    )
