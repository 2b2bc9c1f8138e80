"""IPBeja (ipbeja.pt): netPA-style SQL tables (MariaDB in production) → ``Enrolment`` and ``Grade`` events.

``netpa_inscricoes`` (course registrations), ``netpa_avaliacoes`` (assessments, one row
per version of an ``id_avaliacao``), ``netpa_disciplinas`` (courses: ECTS, ISCED, scale,
year, semester) and ``netpa_alunos`` (students with their ESI). Polled by the incrementing
``id``. ``epoca`` is the exam season: N (normal) = attempt 1, R (recurso) = 2, E (especial) = 3.
Grades are 0-20; 10 passes. ``HUB_IPBEJA_URL`` / ``HUB_IPBEJA_PASSWORD`` point at the database.
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

HEI = "ipbeja.pt"
STATUS = {"D": GradeStatus.FINAL, "C": GradeStatus.CORRECTED, "A": GradeStatus.REVOKED}  # definitiva, corrigida, anulada
REGISTRATION = {"I": EnrolmentStatus.REGISTERED, "A": EnrolmentStatus.WITHDRAWN}  # inscrito, anulado
SEASON = {"N": 1, "R": 2, "E": 3}
SCALES = {"0-20": "ipbeja.pt/0-20"}
YEAR = re.compile(r"^(?P<y0>\d{4})(?P<y1>\d{2})$")  # ano lectivo 202526


class Settings(ConnectorSettings):
    url: str = Field("sqlite:///var/ipbeja.pt/netpa.sqlite", description="SQLAlchemy URL of netPA (HUB_IPBEJA_URL).")
    password: SecretStr | None = Field(None, description="Database password, kept out of the URL (HUB_IPBEJA_PASSWORD).")
    poll_interval: float = 5.0
    batch_size: int = 500

    @property
    def database(self) -> sa.URL:
        url = sa.engine.make_url(self.url)
        return url.set(password=self.password.get_secret_value()) if self.password else url



class Disciplina(BaseModel):
    """A course of netpa_disciplinas."""

    ects: Decimal = Field(alias="nr_ects")
    isced: str = Field(alias="cd_isced")
    scale: str = Field(alias="cd_escala")


class Aluno(BaseModel):
    esi: str | None = None


class Joins(BaseModel):
    """The reference rows the source joined to a record (None: not in the table)."""

    discipline: Disciplina | None = Field(None, alias="_course")
    person: Aluno | None = Field(None, alias="_student")


class Inscricao(Joins):
    student: str = Field(alias="cd_aluno", min_length=1)
    course: str = Field(alias="cd_discip", min_length=1)
    year: str = Field(alias="ano_lectivo", pattern=YEAR.pattern)
    semester: str = Field(alias="cd_semestre", pattern=r"^S[12]$")
    status: str = Field(alias="estado")
    changed: datetime = Field(alias="dt_actualizacao")


class Avaliacao(Joins):
    id: str = Field(alias="id_avaliacao", min_length=1)
    student: str = Field(alias="cd_aluno", min_length=1)
    course: str = Field(alias="cd_discip", min_length=1)
    year: str = Field(alias="ano_lectivo", pattern=YEAR.pattern)
    season: str = Field(alias="epoca")
    grade: str = Field(alias="nota", min_length=1)
    ects: Decimal = Field(alias="nr_ects")
    assessed_on: date = Field(alias="dt_avaliacao")
    status: str = Field(alias="estado")
    changed: datetime = Field(alias="dt_actualizacao")


def grade(r: Avaliacao, s: Settings) -> Grade:
    course, esi = _joined(r)
    scheme_id = SCALES.get(course.scale)
    if scheme_id is None:
        raise RecordRejected(r, f"cd_escala {course.scale!r} of {r.course} is none of {', '.join(SCALES)}",
                             "unknown_grade")
    if r.status not in STATUS or r.season not in SEASON:
        raise RecordRejected(r, f"estado {r.status!r} / epoca {r.season!r}: expected one of {', '.join(STATUS)} / "
                             f"{', '.join(SEASON)}", "invalid_record")
    return Grade(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi, result_id=r.id, course_code=r.course,
                 isced_code=course.isced, grade_label=grade_label(scheme_id, r.grade, r),
                 grading_scheme_id=scheme_id, ects=r.ects, assessed_on=r.assessed_on, attempt=SEASON[r.season],
                 status=STATUS[r.status], academic_year=_year(r.year), occurred_at=utc(r.changed))


def enrolment(r: Inscricao, s: Settings) -> Enrolment:
    course, esi = _joined(r)
    if r.status not in REGISTRATION:
        raise RecordRejected(r, f"estado {r.status!r} is none of {', '.join(REGISTRATION)}", "invalid_record")
    return Enrolment(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi, course_code=r.course,
                     term_id=f"{_year(r.year)}-{r.semester[1]}", ects=course.ects,
                     status=REGISTRATION[r.status], occurred_at=utc(r.changed))


def course_isced(url: str) -> dict[str, str]:
    """ISCED-F field of every course in netpa_disciplinas (the EWP connector puts it on Table B components)."""
    courses = SqlLookup(url, "netpa_disciplinas", "cd_discip")
    try:
        return {code: row["cd_isced"] for code, row in courses.rows().items() if row.get("cd_isced")}
    finally:
        courses.close()


class IpbejaNetpa(Connector):
    """Registrations and assessments from IPBeja's academic database."""

    hei = HEI
    description = "netPA SQL tables (netpa_inscricoes, netpa_avaliacoes) polled by id"
    settings_class = Settings
    mappings = {"enrolments": enrolment, "grades": grade}

    def sources(self, s: Settings) -> list[Joined]:
        courses = SqlLookup(s.database, "netpa_disciplinas", "cd_discip")
        students = SqlLookup(s.database, "netpa_alunos", "cd_aluno")

        def table(name: str, table: str, key: str) -> Joined:
            sql = SqlSource(name, s.url, table, mode="incrementing", id_column="id", password=s.password,
                            credentials_setting="HUB_IPBEJA_PASSWORD", batch_size=s.batch_size,
                            poll_interval=s.poll_interval)
            return Joined(sql, refs={"_course": (lambda r: r["cd_discip"], courses),
                                     "_student": (lambda r: r["cd_aluno"], students)},
                          identity=lambda r: str(r[key]), delivery_fields=("id",))  # a repeated row has a new id
        return [table("enrolments", "netpa_inscricoes", "id_inscricao"), table("grades", "netpa_avaliacoes", "id_avaliacao")]


def _joined(r: Inscricao | Avaliacao) -> tuple[Disciplina, str | None]:
    if r.discipline is None:
        raise unknown_course(r.course, "netpa_disciplinas", r)
    if r.person is None:
        raise RecordRejected(r, f"student {r.student!r} is not in netpa_alunos", "unknown_student")
    return r.discipline, partner_esi(r.person.esi, r)


def _year(ano_lectivo: str) -> str:
    """``202526`` → ``2025/2026``."""
    return f"{ano_lectivo[:4]}/{int(ano_lectivo[:4]) + 1}"
