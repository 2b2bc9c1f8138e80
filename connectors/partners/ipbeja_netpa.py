"""IPBeja (ipbeja.pt): netPA-style SQL tables (MariaDB in production) → ``Enrolment`` and ``Grade`` events.

``netpa_inscricoes`` (registrations) and ``netpa_avaliacoes`` (assessments, a row per version of an
``id_avaliacao``), polled by their incrementing ``id``, with ``netpa_disciplinas`` (courses) and ``netpa_alunos``
(ESIs) looked up. ``epoca`` is the exam season: N (normal) = attempt 1, R (recurso) = 2, E (especial) = 3.
Grades are 0-20; 10 passes.
"""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from connectors.partners._common import (Joined, SqlSettings, course_and_esi, grade_label, one_of, sql_isced,
                                         sql_tables, utc)
from connectors.sdk import Connector
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "ipbeja.pt"
STATUS = {"D": GradeStatus.FINAL, "C": GradeStatus.CORRECTED, "A": GradeStatus.REVOKED}  # definitiva, corrigida, anulada
REGISTRATION = {"I": EnrolmentStatus.REGISTERED, "A": EnrolmentStatus.WITHDRAWN}  # inscrito, anulado
SEASON = {"N": 1, "R": 2, "E": 3}
SCALES = {"0-20": "ipbeja.pt/0-20"}
YEAR = r"^\d{6}$"  # ano lectivo 202526


def year(ano_lectivo: str) -> str:
    """``202526`` → ``2025/2026``."""
    return f"{ano_lectivo[:4]}/{int(ano_lectivo[:4]) + 1}"


class Disciplina(BaseModel):  # a course of netpa_disciplinas
    ects: Decimal = Field(alias="nr_ects")
    isced: str = Field(alias="cd_isced")
    scale: str = Field(alias="cd_escala")


class Aluno(BaseModel):
    esi: str | None = None


class Row(BaseModel):  # what both tables share, with the course and the student looked up (None: not found)
    student: str = Field(alias="cd_aluno", min_length=1)
    course: str = Field(alias="cd_discip", min_length=1)
    year: str = Field(alias="ano_lectivo", pattern=YEAR)
    status: str = Field(alias="estado")
    changed: datetime = Field(alias="dt_actualizacao")
    discipline: Disciplina | None = Field(None, alias="_course")
    person: Aluno | None = Field(None, alias="_student")


class Inscricao(Row):
    semester: str = Field(alias="cd_semestre", pattern=r"^S[12]$")


class Avaliacao(Row):
    id: str = Field(alias="id_avaliacao", min_length=1)
    season: str = Field(alias="epoca")
    grade: str = Field(alias="nota", min_length=1)
    ects: Decimal = Field(alias="nr_ects")
    assessed_on: date = Field(alias="dt_avaliacao")


def grade(r: Avaliacao, s: SqlSettings) -> Grade:
    course, esi = course_and_esi(r, r.discipline, "netpa_disciplinas", r.person, "netpa_alunos")
    scheme_id = one_of(SCALES, course.scale, f"cd_escala of {r.course}", r, "unknown_grade")
    return Grade(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi, result_id=r.id, course_code=r.course,
                 isced_code=course.isced, grade_label=grade_label(scheme_id, r.grade, r), grading_scheme_id=scheme_id,
                 ects=r.ects, assessed_on=r.assessed_on, attempt=one_of(SEASON, r.season, "epoca", r),
                 status=one_of(STATUS, r.status, "estado", r), academic_year=year(r.year), occurred_at=utc(r.changed))


def enrolment(r: Inscricao, s: SqlSettings) -> Enrolment:
    course, esi = course_and_esi(r, r.discipline, "netpa_disciplinas", r.person, "netpa_alunos")
    return Enrolment(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi, course_code=r.course,
                     term_id=f"{year(r.year)}-{r.semester[1]}", ects=course.ects,
                     status=one_of(REGISTRATION, r.status, "estado", r), occurred_at=utc(r.changed))


course_isced = sql_isced("netpa_disciplinas", "cd_discip", "cd_isced")


class IpbejaNetpa(Connector):
    description = "netPA SQL tables (netpa_inscricoes, netpa_avaliacoes) polled by id"
    hei, settings_class = HEI, SqlSettings  # url: sqlite:///var/ipbeja.pt/netpa.sqlite, mysql+pymysql://...
    mappings = {"enrolments": enrolment, "grades": grade}

    def sources(self, s: SqlSettings) -> list[Joined]:
        return sql_tables(s, HEI, {"enrolments": ("netpa_inscricoes", "id_inscricao"),
                                   "grades": ("netpa_avaliacoes", "id_avaliacao")},
                          refs={"_course": ("netpa_disciplinas", "cd_discip"), "_student": ("netpa_alunos", "cd_aluno")})
