"""VIKO (viko.lt): the AIS pushes JSON events to a webhook → ``Enrolment`` and ``Grade`` events.

Each POST (``Authorization: Bearer <HUB_VIKO_TOKEN>``) is one event, spooled on disk
before the 202 answer::

    {"id": "eecde42d-…", "type": "grade.recorded", "sent_at": "…", "occurred_at": "2026-01-12T07:26:08.000Z",
     "institution": "viko.lt", "student": {"id": "VK2100551", "esi": "urn:schac:…:viko.lt:VK2100551"},
     "course": {"code": "SPF-EK2129", "ects": 4.0, "term": "2025/2026-1"},
     "grade": {"result_id": "3fd9…", "value": "3", "scale": "1-10", "attempt": 1, "date": "2026-01-07"}}

``id`` names the event: a retried post repeats it with a new ``sent_at`` and keeps its
hub event id. ``courses.json`` is the AIS course list (ISCED, scale). Grades 10…5 pass;
pass-fail courses print ``įskaityta`` / ``neįskaityta``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from connectors.partners._common import (
    FileLookup,
    Joined,
    grade_label,
    partner_esi,
    unknown_course,
)
from connectors.sdk import Connector, ConnectorSettings, RecordRejected, Skip
from connectors.sources import WebhookSource
from schemas.institutions import SCHAC_CODES
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "viko.lt"
REGISTRATION = {"enrolment.created": EnrolmentStatus.REGISTERED, "enrolment.withdrawn": EnrolmentStatus.WITHDRAWN}
RESULT = {"grade.recorded": GradeStatus.FINAL, "grade.corrected": GradeStatus.CORRECTED, "grade.revoked": GradeStatus.REVOKED}
SCALES = {"1-10": "viko.lt/1-10", "įskaityta/neįskaityta": "viko.lt/pass-fail"}
TERM = r"^\d{4}/\d{4}-[12]$"


class Settings(ConnectorSettings):
    token: SecretStr = Field(description="Bearer token the AIS sends (HUB_VIKO_TOKEN), at least 16 characters.")
    host: str = "127.0.0.1"
    port: int = Field(8790, description="Port of the webhook (0: any free one).")
    path: str = "/viko/events"
    spool_file: Path = Field(Path("var/viko.lt/webhook-spool.sqlite"), description="Accepted events wait here for Kafka.")
    courses_file: Path = Field(Path("var/viko.lt/courses.json"), description="The AIS course list (HUB_VIKO_COURSES_FILE).")
    poll_interval: float = 0.2


class Course(BaseModel):
    """An entry of courses.json."""

    isced: str


class Student(BaseModel):
    id: str = Field(min_length=1)
    esi: str | None = None


class CourseRef(BaseModel):
    code: str = Field(min_length=1)
    ects: Decimal
    term: str = Field(pattern=TERM)


class Result(BaseModel):
    result_id: str = Field(min_length=1)
    value: str = Field(min_length=1)
    scale: str
    attempt: int = Field(1, ge=1)
    on: date = Field(alias="date")


class Message(BaseModel):
    id: str
    type: str
    occurred_at: datetime
    institution: str
    student: Student
    course: CourseRef | None = None
    grade: Result | None = None
    listed: Course | None = Field(None, alias="_course")  # joined from courses.json by the source


def event(m: Message, s: Settings) -> Enrolment | Grade:
    if m.type == "student.created":
        raise Skip("student.created (the ESI comes with every event)")
    if m.institution != HEI:
        who = "not a HEROES partner" if m.institution not in SCHAC_CODES else f"not {HEI}"
        raise RecordRejected(m, f"institution {m.institution!r} is {who}; this webhook takes VIKO's events only",
                             "unknown_institution")
    if m.type not in REGISTRATION and m.type not in RESULT:
        raise RecordRejected(m, f"type {m.type!r} is none of student.created, {', '.join([*REGISTRATION, *RESULT])}",
                             "invalid_record")
    if m.course is None:
        raise RecordRejected(m, f"a {m.type} event without its course", "invalid_record")
    if m.listed is None:
        raise unknown_course(m.course.code, s.courses_file.name, m)
    esi, year = partner_esi(m.student.esi, m), m.course.term.split("-")[0]
    if m.type in REGISTRATION:
        return Enrolment(source_hei=HEI, hei=HEI, student_id=m.student.id, student_esi=esi, course_code=m.course.code,
                         term_id=m.course.term, ects=m.course.ects, status=REGISTRATION[m.type], occurred_at=m.occurred_at)
    g = m.grade
    if g is None or g.scale not in SCALES:
        raise RecordRejected(m, f"a {m.type} event needs a grade with a scale of {', '.join(SCALES)}", "unknown_grade")
    return Grade(source_hei=HEI, hei=HEI, student_id=m.student.id, student_esi=esi, result_id=g.result_id,
                 course_code=m.course.code, isced_code=m.listed.isced, grading_scheme_id=SCALES[g.scale],
                 grade_label=grade_label(SCALES[g.scale], g.value, m), ects=m.course.ects, assessed_on=g.on,
                 attempt=g.attempt, status=RESULT[m.type], academic_year=year, occurred_at=m.occurred_at)


def course_isced(courses_file: str) -> dict[str, str]:
    """ISCED-F field of every course in courses.json (the EWP connector puts it on Table B components)."""
    return {code: str(c["isced"]) for code, c in _courses(Path(courses_file)) if c.get("isced")}


class VikoWebhook(Connector):
    """Registrations and grades VIKO's AIS pushes to the hub."""

    hei = HEI
    description = "webhook: the AIS POSTs JSON events (bearer token), spooled on disk"
    settings_class = Settings
    mappings = {"events": event}

    def sources(self, s: Settings) -> list[Joined]:
        courses = FileLookup(lambda: [s.courses_file], _courses, required=[s.courses_file])
        hook = WebhookSource("events", s.spool_file, token=s.token, host=s.host, port=s.port, path=s.path,
                             identity_field="id", poll_interval=s.poll_interval)
        return [Joined(hook, refs={"_course": (lambda r: r["course"]["code"], courses)},
                       identity=lambda r: str(r["id"]), delivery_fields=("sent_at",))]  # a retried post keeps its id


def _courses(path: Path) -> list[tuple[str, dict[str, object]]]:
    return [(c["code"], c) for c in json.loads(path.read_text(encoding="utf-8")) if isinstance(c, dict) and c.get("code")]
