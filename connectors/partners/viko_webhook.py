"""VIKO (viko.lt): the AIS pushes JSON events to a webhook → ``Enrolment`` and ``Grade`` events.

Each POST (``Authorization: Bearer <HUB_VIKO_TOKEN>``), one event, is spooled on disk before the 202 answer::
    {"id": "eecde42d-…", "type": "grade.recorded", "sent_at": "…", "occurred_at": "2026-01-12T07:26:08.000Z",
     "institution": "viko.lt", "student": {"id": "VK2100551", "esi": "urn:schac:…"}, "course": {"code": "SPF-EK2129",
     "ects": 4.0, "term": "2025/2026-1"}, "grade": {"result_id": "3fd9…", "value": "3", "scale": "1-10", "date": …}}

A retried post repeats ``id`` with a new ``sent_at``: it keeps its event id. ``courses.json`` lists ISCED fields.
"""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import AliasPath, BaseModel, Field, SecretStr

from connectors.partners._common import (FileLookup, Joined, grade_label, isced_reader, json_rows, listed, one_of,
                                         partner_esi)
from connectors.sdk import Connector, ConnectorSettings, RecordRejected, Skip
from connectors.sources import WebhookSource
from schemas.institutions import SCHAC_CODES
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "viko.lt"
REGISTRATION = {"enrolment.created": EnrolmentStatus.REGISTERED, "enrolment.withdrawn": EnrolmentStatus.WITHDRAWN}
RESULT = {"grade.recorded": GradeStatus.FINAL, "grade.corrected": GradeStatus.CORRECTED, "grade.revoked": GradeStatus.REVOKED}
SCALES = {"1-10": "viko.lt/1-10", "įskaityta/neįskaityta": "viko.lt/pass-fail"}


class Settings(ConnectorSettings):
    token: SecretStr = Field(description="Bearer token the AIS sends (HUB_VIKO_TOKEN), at least 16 characters.")
    host: str = "127.0.0.1"
    port: int = Field(8790, description="Port of the webhook (0: any free one).")
    path: str = "/viko/events"
    spool_file: Path = Field(Path("var/viko.lt/webhook-spool.sqlite"), description="Accepted events wait here for Kafka.")
    courses_file: Path = Field(Path("var/viko.lt/courses.json"), description="The AIS course list (HUB_VIKO_COURSES_FILE).")
    keep_published_days: float = Field(7.0, ge=0, description="Published events stay in the spool this long, for replays (0: none).")
    keep_published_bytes: int = Field(64 * 1024 * 1024, ge=0, description="At most this many bytes of published events stay (0: none).")
    poll_interval: float = 0.2


class Course(BaseModel):
    code: str = Field(min_length=1)
    ects: Decimal
    term: str = Field(pattern=r"^\d{4}/\d{4}-[12]$")


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
    student: dict[str, str | None]  # id, esi
    course: Course | None = None
    grade: Result | None = None
    isced: str | None = Field(None, validation_alias=AliasPath("_course", "isced"))  # from courses.json, by the source


def event(m: Message, s: Settings) -> Enrolment | Grade:
    if m.type == "student.created":
        raise Skip("student.created (the ESI comes with every event)")
    if m.institution != HEI:
        partner = "a HEROES partner but" if m.institution in SCHAC_CODES else "not a HEROES partner and"
        raise RecordRejected(m, f"institution {m.institution!r} is {partner} not {HEI}", "unknown_institution")
    one_of({**REGISTRATION, **RESULT}, m.type, "type", m)
    if m.course is None or not m.student.get("id"):
        raise RecordRejected(m, f"a {m.type} event without its course or student id", "invalid_record")
    c, isced = m.course, listed(m.isced, m.course.code, s.courses_file.name, m)
    common: dict[str, Any] = dict(source_hei=HEI, hei=HEI, student_id=m.student["id"], course_code=c.code, ects=c.ects,
                                  student_esi=partner_esi(m.student.get("esi"), m), occurred_at=m.occurred_at)
    if m.type in REGISTRATION:
        return Enrolment(**common, term_id=c.term, status=REGISTRATION[m.type])
    if (g := m.grade) is None or g.scale not in SCALES:
        raise RecordRejected(m, f"a {m.type} event needs a grade with a scale of {', '.join(SCALES)}", "unknown_grade")
    return Grade(**common, result_id=g.result_id, isced_code=isced, grading_scheme_id=SCALES[g.scale],
                 grade_label=grade_label(SCALES[g.scale], g.value, m), assessed_on=g.on, attempt=g.attempt,
                 status=RESULT[m.type], academic_year=c.term.split("-")[0])


course_isced = isced_reader(lambda file: FileLookup(lambda: [Path(file)], lambda p: json_rows(p, "code")), "code", "isced")


class VikoWebhook(Connector):
    description = "webhook: the AIS POSTs JSON events (bearer token), spooled on disk"
    hei, settings_class, mappings = HEI, Settings, {"events": event}

    def sources(self, s: Settings) -> list[Joined]:
        hook = WebhookSource("events", s.spool_file, token=s.token, host=s.host, port=s.port, path=s.path,
                             identity_field="id", poll_interval=s.poll_interval, keep_published_days=s.keep_published_days,
                             keep_published_bytes=s.keep_published_bytes)
        courses = FileLookup(lambda: [s.courses_file], lambda p: json_rows(p, "code"), required=[s.courses_file])
        return [Joined(hook, refs={"_course": ("course.code", courses)}, identity=lambda r: str(r["id"]),
                       delivery_fields=("sent_at",))]  # a retried post keeps its id
