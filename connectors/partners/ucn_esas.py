"""UCN (ucn.dk): ESAS SQL views → ``Enrolment`` and ``Grade`` events.

ESAS exposes ``v_tilmelding`` (course registrations), ``v_bedoemmelse`` (assessments),
``v_uddannelseselement`` (courses: ECTS, ISCED, scale, semester) and ``v_studerende``
(students with their ESI). Every view has an incrementing ``id``; a new version of a
record (a correction, a withdrawal) is a new row with the same ``bedoemmelse_id`` /
``tilmelding_id``, so the connector polls by ``id`` (a late row keeps an old ``opdateret``).
A SQLite file by default; PostgreSQL or MariaDB by URL (``HUB_UCN_URL``, ``HUB_UCN_PASSWORD``).
Danish grades are labels, not numbers: ``02`` is a grade, ``2`` is not.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from pydantic import BaseModel, Field, SecretStr

from connectors.partners._common import (
    Joined,
    SqlLookup,
    grade_label,
    partner_esi,
    unknown_course,
    utc,
)
from connectors.sdk import Connector, ConnectorSettings, RecordRejected
from connectors.sources import SqlSource
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "ucn.dk"
STATUS = {"GYLDIG": GradeStatus.FINAL, "RETTET": GradeStatus.CORRECTED, "ANNULLERET": GradeStatus.REVOKED}
REGISTRATION = {"TILMELDT": EnrolmentStatus.REGISTERED, "AFMELDT": EnrolmentStatus.WITHDRAWN}
SCALES = {"7-trinsskala": "ucn.dk/7-point", "bestået/ikke bestået": "ucn.dk/pass-fail"}
SEMESTER = re.compile(r"^(?P<half>[EF])(?P<yy>\d{2})$")  # efterår / forår


class Settings(ConnectorSettings):
    url: str = Field("sqlite:///var/ucn.dk/esas.sqlite", description="SQLAlchemy URL of the ESAS views (HUB_UCN_URL).")
    password: SecretStr | None = Field(None, description="Database password, kept out of the URL (HUB_UCN_PASSWORD).")
    poll_interval: float = 5.0
    batch_size: int = 500

    @property
    def database(self) -> sa.URL:
        url = sa.engine.make_url(self.url)
        return url.set(password=self.password.get_secret_value()) if self.password else url


class Element(BaseModel):
    """A course of v_uddannelseselement."""

    ects: Decimal
    isced: str
    semester: str = Field(pattern=SEMESTER.pattern)


class Studerende(BaseModel):
    esi: str | None = None


class Joins(BaseModel):
    """The reference rows the source joined to a record (None: not in the view)."""

    element: Element | None = Field(None, alias="_course")
    person: Studerende | None = Field(None, alias="_student")


class Tilmelding(Joins):
    id: str = Field(alias="tilmelding_id", min_length=1)
    student: str = Field(alias="studienummer", min_length=1)
    course: str = Field(alias="elementkode", min_length=1)
    semester: str = Field(pattern=SEMESTER.pattern)
    status: str
    changed: datetime = Field(alias="opdateret")


class Bedoemmelse(Joins):
    id: str = Field(alias="bedoemmelse_id", min_length=1)
    student: str = Field(alias="studienummer", min_length=1)
    course: str = Field(alias="elementkode", min_length=1)
    grade: str = Field(alias="karakter", min_length=1)
    scale: str = Field(alias="skala")
    ects: Decimal
    assessed_on: date = Field(alias="bedoemmelsesdato")
    attempt: int = Field(alias="forsoeg", ge=1)
    status: str
    changed: datetime = Field(alias="opdateret")


def grade(r: Bedoemmelse, s: Settings) -> Grade:
    course, esi = _joined(r)
    if r.scale not in SCALES:
        raise RecordRejected(r, f"skala {r.scale!r} is none of {', '.join(SCALES)}", "unknown_grade")
    if r.status not in STATUS:
        raise RecordRejected(r, f"status {r.status!r} is none of {', '.join(STATUS)}", "invalid_record")
    return Grade(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi, result_id=r.id, course_code=r.course,
                 isced_code=course.isced, grade_label=grade_label(SCALES[r.scale], r.grade, r),
                 grading_scheme_id=SCALES[r.scale], ects=r.ects, assessed_on=r.assessed_on, attempt=r.attempt,
                 status=STATUS[r.status], academic_year=_term(course.semester)[0], occurred_at=utc(r.changed))


def enrolment(r: Tilmelding, s: Settings) -> Enrolment:
    course, esi = _joined(r)
    if r.status not in REGISTRATION:
        raise RecordRejected(r, f"status {r.status!r} is none of {', '.join(REGISTRATION)}", "invalid_record")
    year, term = _term(r.semester)
    return Enrolment(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi, course_code=r.course,
                     term_id=f"{year}-{term}", ects=course.ects, status=REGISTRATION[r.status],
                     occurred_at=utc(r.changed))


def course_isced(url: str) -> dict[str, str]:
    """ISCED-F field of every course in v_uddannelseselement (the EWP connector puts it on Table B components)."""
    courses = SqlLookup(url, "v_uddannelseselement", "elementkode")
    try:
        return {code: row["isced"] for code, row in courses.rows().items() if row.get("isced")}
    finally:
        courses.close()


class UcnEsas(Connector):
    """Registrations and assessments from UCN's ESAS views."""

    hei = HEI
    description = "ESAS SQL views (v_tilmelding, v_bedoemmelse) polled by id"
    settings_class = Settings
    mappings = {"enrolments": enrolment, "grades": grade}

    def sources(self, s: Settings) -> list[Joined]:
        courses = SqlLookup(s.database, "v_uddannelseselement", "elementkode")
        students = SqlLookup(s.database, "v_studerende", "studienummer")

        def view(name: str, table: str, key: str) -> Joined:
            sql = SqlSource(name, s.url, table, mode="incrementing", id_column="id", password=s.password,
                            credentials_setting="HUB_UCN_PASSWORD", batch_size=s.batch_size, poll_interval=s.poll_interval)
            return Joined(sql, refs={"_course": (lambda r: r["elementkode"], courses),
                                     "_student": (lambda r: r["studienummer"], students)},
                          identity=lambda r: str(r[key]), delivery_fields=("id",))  # a repeated row has a new id
        return [view("enrolments", "v_tilmelding", "tilmelding_id"), view("grades", "v_bedoemmelse", "bedoemmelse_id")]


def _joined(r: Tilmelding | Bedoemmelse) -> tuple[Element, str | None]:
    if r.element is None:
        raise unknown_course(r.course, "v_uddannelseselement", r)
    if r.person is None:
        raise RecordRejected(r, f"student {r.student!r} is not in v_studerende", "unknown_student")
    return r.element, partner_esi(r.person.esi, r)


def _term(semester: str) -> tuple[str, int]:
    """``E25`` (autumn 2025) → (2025/2026, 1); ``F26`` (spring 2026) → (2025/2026, 2)."""
    m = SEMESTER.match(semester)
    assert m is not None  # the models check the pattern
    year = 2000 + int(m["yy"])
    return (f"{year}/{year + 1}", 1) if m["half"] == "E" else (f"{year - 1}/{year}", 2)
