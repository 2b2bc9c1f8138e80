"""UCN (ucn.dk): ESAS SQL views → ``Enrolment`` and ``Grade`` events.

``v_tilmelding`` (registrations) and ``v_bedoemmelse`` (assessments) with ``v_uddannelseselement`` (courses) and
``v_studerende`` (ESIs) looked up. A new version of a record is a new row with the same ``*_id``, so the views are
polled by their incrementing ``id`` (a late row keeps an old ``opdateret``). Danish grades are labels: ``02`` is one.
"""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from connectors.partners._common import (Joined, SqlSettings, course_and_esi, grade_label, one_of, sql_isced,
                                         sql_tables, utc)
from connectors.sdk import Connector
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "ucn.dk"
STATUS = {"GYLDIG": GradeStatus.FINAL, "RETTET": GradeStatus.CORRECTED, "ANNULLERET": GradeStatus.REVOKED}
REGISTRATION = {"TILMELDT": EnrolmentStatus.REGISTERED, "AFMELDT": EnrolmentStatus.WITHDRAWN}
SCALES = {"7-trinsskala": "ucn.dk/7-point", "bestået/ikke bestået": "ucn.dk/pass-fail"}
SEMESTER = r"^[EF]\d{2}$"  # efterår / forår


def term(semester: str) -> tuple[str, int]:
    """``E25`` (autumn 2025) → (2025/2026, 1); ``F26`` (spring 2026) → (2025/2026, 2)."""
    year = 2000 + int(semester[1:])
    return (f"{year}/{year + 1}", 1) if semester[0] == "E" else (f"{year - 1}/{year}", 2)


class Element(BaseModel):  # a course of v_uddannelseselement
    ects: Decimal
    isced: str
    semester: str = Field(pattern=SEMESTER)


class Studerende(BaseModel):
    esi: str | None = None


class Row(BaseModel):  # what both views share, with the course and the student looked up (None: not found)
    student: str = Field(alias="studienummer", min_length=1)
    course: str = Field(alias="elementkode", min_length=1)
    status: str
    changed: datetime = Field(alias="opdateret")
    element: Element | None = Field(None, alias="_course")
    person: Studerende | None = Field(None, alias="_student")


class Tilmelding(Row):
    semester: str = Field(pattern=SEMESTER)


class Bedoemmelse(Row):
    id: str = Field(alias="bedoemmelse_id", min_length=1)
    grade: str = Field(alias="karakter", min_length=1)
    scale: str = Field(alias="skala")
    ects: Decimal
    assessed_on: date = Field(alias="bedoemmelsesdato")
    attempt: int = Field(alias="forsoeg", ge=1)


def grade(r: Bedoemmelse, s: SqlSettings) -> Grade:
    course, esi = course_and_esi(r, r.element, "v_uddannelseselement", r.person, "v_studerende")
    scheme_id = one_of(SCALES, r.scale, "skala", r, "unknown_grade")
    return Grade(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi, result_id=r.id,
                 course_code=r.course, isced_code=course.isced, grade_label=grade_label(scheme_id, r.grade, r),
                 grading_scheme_id=scheme_id, ects=r.ects, assessed_on=r.assessed_on, attempt=r.attempt,
                 status=one_of(STATUS, r.status, "status", r), academic_year=term(course.semester)[0],
                 occurred_at=utc(r.changed))


def enrolment(r: Tilmelding, s: SqlSettings) -> Enrolment:
    course, esi = course_and_esi(r, r.element, "v_uddannelseselement", r.person, "v_studerende")
    year, half = term(r.semester)
    return Enrolment(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi,
                     course_code=r.course, term_id=f"{year}-{half}", ects=course.ects,
                     status=one_of(REGISTRATION, r.status, "status", r), occurred_at=utc(r.changed))


course_isced = sql_isced("v_uddannelseselement", "elementkode", "isced")


class UcnEsas(Connector):
    description = "ESAS SQL views (v_tilmelding, v_bedoemmelse) polled by id"
    hei, settings_class = HEI, SqlSettings  # url: sqlite:///var/ucn.dk/esas.sqlite, postgresql+psycopg2://...
    mappings = {"enrolments": enrolment, "grades": grade}

    def sources(self, s: SqlSettings) -> list[Joined]:
        return sql_tables(s, HEI, {"enrolments": ("v_tilmelding", "tilmelding_id"),
                                   "grades": ("v_bedoemmelse", "bedoemmelse_id")},
                          refs={"_course": ("v_uddannelseselement", "elementkode"),
                                "_student": ("v_studerende", "studienummer")})
