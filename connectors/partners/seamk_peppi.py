"""SeAMK (seamk.fi): Peppi REST JSON → ``Enrolment`` and ``Grade`` events.

Resources ``enrolments`` and ``attainments`` are read in the order Peppi changed them
(Spring-style pages ``{"content": [...], "number", "size", "last"}``); ``students``
(the ESI) and ``course-units`` (ISCED field, term) are looked up. Attainment ``state``:
VALID, CORRECTED (a later version of the same ``id``), INVALIDATED (revoked); enrolment
``state``: ENROLLED, CANCELLED. Times carry Finland's UTC offset. Grades are kept as
printed (``hyl.`` stays ``hyl.``; the scheme reads it as 0).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field, SecretStr

from connectors.partners._common import grade_label, partner_esi
from connectors.partners._paged import ChangeListSource, GrowingIndex, PagedList
from connectors.sdk import Connector, ConnectorSettings, RecordRejected
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "seamk.fi"
STATUS = {"VALID": GradeStatus.FINAL, "CORRECTED": GradeStatus.CORRECTED, "INVALIDATED": GradeStatus.REVOKED}
ENROLMENT = {"ENROLLED": EnrolmentStatus.REGISTERED, "CANCELLED": EnrolmentStatus.WITHDRAWN}
TERM = re.compile(r"^(?P<y0>\d{4})-(?P<y1>\d{4}) (?P<season>syksy|kevät)$")  # autumn | spring


class Settings(ConnectorSettings):
    api_url: str = Field(description="Peppi REST base URL, e.g. https://<host>/peppi/api/v1 (HUB_SEAMK_API_URL).")
    token: SecretStr | None = Field(None, description="Bearer token of the Peppi integration user (HUB_SEAMK_TOKEN).")
    page_size: int = Field(100, ge=1, le=1000)
    schemes: dict[str, str] = Field({"0-5": "seamk.fi/0-5", "HYV-HYL": "seamk.fi/pass-fail"},
                                    description="Attainment gradeScale -> grading scheme id.")
    poll_interval: float = 30.0


class Student(BaseModel):
    studentNumber: str
    esi: str | None = None


class CourseUnit(BaseModel):
    code: str
    credits: Decimal
    iscedCode: str | None = None
    term: str = Field(pattern=TERM.pattern)


class PeppiEnrolment(BaseModel):
    id: int
    studentNumber: str = Field(min_length=1)
    courseUnitCode: str
    term: str = Field(pattern=TERM.pattern)
    state: str
    modifiedAt: datetime


class Attainment(BaseModel):
    id: int
    studentNumber: str = Field(min_length=1)
    courseUnitCode: str
    grade: str
    gradeScale: str
    credits: Decimal
    attainmentDate: date
    attemptNumber: int = Field(default=1, ge=1)
    state: str
    modifiedAt: datetime


class EnrolmentIn(BaseModel):
    record: PeppiEnrolment
    student: Student | None
    unit: CourseUnit | None


class AttainmentIn(BaseModel):
    record: Attainment
    student: Student | None
    unit: CourseUnit | None


def enrolment(a: EnrolmentIn, s: Settings) -> Enrolment:
    r, unit = a.record, _unit(a.record, a.unit)
    if r.state not in ENROLMENT:
        raise RecordRejected(r, f"state {r.state!r} is none of {', '.join(ENROLMENT)}", "invalid_record")
    return Enrolment(source_hei=HEI, hei=HEI, student_id=r.studentNumber, student_esi=_esi(a.student, r),
                     course_code=r.courseUnitCode, term_id=term_id(r.term), ects=unit.credits,
                     status=ENROLMENT[r.state], occurred_at=r.modifiedAt)


def attainment(a: AttainmentIn, s: Settings) -> Grade:
    r, unit = a.record, _unit(a.record, a.unit)
    if r.state not in STATUS:
        raise RecordRejected(r, f"state {r.state!r} is none of {', '.join(STATUS)}", "invalid_record")
    if r.gradeScale not in s.schemes:
        raise RecordRejected(r, f"gradeScale {r.gradeScale!r} is none of {', '.join(s.schemes)} (HUB_SEAMK_SCHEMES)",
                             "unknown_scheme")
    scheme_id = s.schemes[r.gradeScale]
    return Grade(source_hei=HEI, hei=HEI, student_id=r.studentNumber, student_esi=_esi(a.student, r),
                 result_id=str(r.id), course_code=r.courseUnitCode, isced_code=unit.iscedCode,
                 grade_label=grade_label(scheme_id, r.grade, r), grading_scheme_id=scheme_id, ects=r.credits,
                 assessed_on=r.attainmentDate, attempt=r.attemptNumber, status=STATUS[r.state],
                 academic_year=term_id(unit.term).rsplit("-", 1)[0], occurred_at=r.modifiedAt)


def term_id(term: str) -> str:
    """``2025-2026 syksy`` (autumn) → ``2025/2026-1``; ``kevät`` (spring) → ``-2``."""
    m = TERM.match(term)
    assert m is not None  # the models check the pattern
    return f"{m['y0']}/{m['y1']}-{1 if m['season'] == 'syksy' else 2}"


def _unit(r: PeppiEnrolment | Attainment, unit: CourseUnit | None) -> CourseUnit:
    if unit is None:
        raise RecordRejected(r, f"courseUnitCode {r.courseUnitCode} is not in course-units", "unknown_course")
    return unit


def _esi(student: Student | None, r: PeppiEnrolment | Attainment) -> str | None:
    return partner_esi(student.esi, r) if student is not None else None


def _resource(api_url: str, name: str, size: int, token: SecretStr | None) -> PagedList:
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else None
    return PagedList(f"{api_url.rstrip('/')}/{name}", items="content", page_param="page", size_param="size",
                     first_page=0, page_size=size, headers=headers, credentials_setting="HUB_SEAMK_TOKEN")


def course_isced(api_url: str) -> dict[str, str]:
    """ISCED-F field of every course unit code (the EWP connector puts it on Table B components)."""
    units = GrowingIndex(_resource(api_url, "course-units", 1000, None), lambda u: u.get("code"))
    try:
        units.read_on()
        return {code: u["iscedCode"] for code, u in units.rows.items() if u.get("iscedCode")}
    finally:
        units.close()


class SeamkPeppi(Connector):
    """Enrolments and attainments from SeAMK's Peppi REST API."""

    hei = HEI
    description = "Peppi REST JSON: enrolments and attainments with students and course units"
    settings_class = Settings
    mappings = {"enrolments": enrolment, "attainments": attainment}

    def sources(self, s: Settings) -> list[ChangeListSource]:
        def changes(name: str) -> ChangeListSource:
            students = GrowingIndex(_resource(s.api_url, "students", 1000, s.token), lambda x: x.get("studentNumber"))
            units = GrowingIndex(_resource(s.api_url, "course-units", 1000, s.token), lambda x: x.get("code"))
            return ChangeListSource(name, _resource(s.api_url, name, s.page_size, s.token), identity="id",
                                    poll_interval=s.poll_interval,
                                    joins={"student": (lambda r: r["studentNumber"], students),
                                           "unit": (lambda r: r["courseUnitCode"], units)})
        return [changes("enrolments"), changes("attainments")]
