"""SeAMK (seamk.fi): Peppi REST JSON → ``Enrolment`` and ``Grade`` events.

``enrolments`` and ``attainments`` (CORRECTED: a later version of the same ``id``; INVALIDATED: revoked), read in
the order Peppi changed them (Spring-style pages), with ``students`` (ESI) and ``course-units`` looked up.
Grades stay as printed (``hyl.``; the scheme reads it as 0).
"""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AliasPath, BaseModel, Field

from connectors.partners._common import (ApiSettings, Joined, SourceLookup, grade_label, isced_reader, listed, one_of,
                                         partner_esi)
from connectors.sdk import Connector
from connectors.sources import HttpSource
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "seamk.fi"
STATUS = {"VALID": GradeStatus.FINAL, "CORRECTED": GradeStatus.CORRECTED, "INVALIDATED": GradeStatus.REVOKED}
ENROLMENT = {"ENROLLED": EnrolmentStatus.REGISTERED, "CANCELLED": EnrolmentStatus.WITHDRAWN}
SCHEMES = {"0-5": "seamk.fi/0-5", "HYV-HYL": "seamk.fi/pass-fail"}  # by attainment gradeScale
PEPPI: dict[str, Any] = dict(records_path="content", paging="page", first_page=0, page_param="page",
                             limit_param="size", append_only=True, credentials_setting="HUB_SEAMK_TOKEN")


def term_id(term: str) -> str:
    """``2025-2026 syksy`` (autumn) → ``2025/2026-1``; ``2025-2026 kevät`` (spring) → ``2025/2026-2``."""
    if not (m := re.fullmatch(r"(\d{4})-(\d{4}) (syksy|kevät)", term)):
        raise ValueError(f"{term!r} is not a Peppi term (2025-2026 syksy, 2025-2026 kevät)")
    return f"{m[1]}/{m[2]}-{1 if m[3] == 'syksy' else 2}"


Term = Annotated[str, AfterValidator(term_id)]


class CourseUnit(BaseModel):
    credits: Decimal
    iscedCode: str | None = None
    term: Term


class Record(BaseModel):  # what enrolments and attainments share, with the student and course unit looked up
    id: int
    studentNumber: str = Field(min_length=1)
    courseUnitCode: str
    state: str
    modifiedAt: datetime
    esi: str | None = Field(None, validation_alias=AliasPath("_student", "esi"))
    unit: CourseUnit | None = Field(None, alias="_unit")


class PeppiEnrolment(Record):
    term: Term


class Attainment(Record):
    grade: str
    gradeScale: str
    credits: Decimal
    attainmentDate: date
    attemptNumber: int = Field(default=1, ge=1)


def enrolment(r: PeppiEnrolment, s: ApiSettings) -> Enrolment:
    unit = listed(r.unit, r.courseUnitCode, "course-units", r)
    return Enrolment(source_hei=HEI, hei=HEI, student_id=r.studentNumber, student_esi=partner_esi(r.esi, r),
                     course_code=r.courseUnitCode, term_id=r.term, ects=unit.credits,
                     status=one_of(ENROLMENT, r.state, "state", r), occurred_at=r.modifiedAt)


def attainment(r: Attainment, s: ApiSettings) -> Grade:
    unit = listed(r.unit, r.courseUnitCode, "course-units", r)
    scheme_id = one_of(SCHEMES, r.gradeScale, "gradeScale", r, "unknown_scheme")
    return Grade(source_hei=HEI, hei=HEI, student_id=r.studentNumber, student_esi=partner_esi(r.esi, r),
                 result_id=str(r.id), course_code=r.courseUnitCode, isced_code=unit.iscedCode, ects=r.credits,
                 grading_scheme_id=scheme_id, grade_label=grade_label(scheme_id, r.grade, r), attempt=r.attemptNumber,
                 assessed_on=r.attainmentDate, status=one_of(STATUS, r.state, "state", r),
                 academic_year=unit.term.rsplit("-", 1)[0], occurred_at=r.modifiedAt)


course_isced = isced_reader(lambda url: SourceLookup(HttpSource("u", f"{url}/course-units", page_size=1000, **PEPPI),
                                                     "code"), "code", "iscedCode")


class SeamkPeppi(Connector):
    description = "Peppi REST JSON: enrolments and attainments with students and course units"
    hei, settings_class, mappings = HEI, ApiSettings, {"enrolments": enrolment, "attainments": attainment}

    def sources(self, s: ApiSettings) -> list[Joined]:  # api_url: https://<host>/peppi/api/v1
        def resource(name: str, **kw: Any) -> HttpSource:
            return HttpSource(name, f"{s.api_url}/{name}", bearer_token=s.token, **PEPPI, **kw)
        refs = {"_student": ("studentNumber", SourceLookup(resource("students", page_size=1000), "studentNumber")),
                "_unit": ("courseUnitCode", SourceLookup(resource("course-units", page_size=1000), "code"))}
        return [Joined(resource(name, page_size=s.page_size, poll_interval=s.poll_interval), refs=refs)
                for name in ("enrolments", "attainments")]
