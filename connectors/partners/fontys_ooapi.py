"""Fontys (fontys.nl): Open Education API v5 → ``Enrolment`` and ``Grade`` events.

``/associations`` lists association versions (one student in one course offering) in
the order they changed: a registration (``result`` null), then the attested result,
a correction or a revocation (``state`` canceled with a result); ``state`` canceled
without a result is a withdrawal. The person (student number, ESI in ``otherCodes``)
and the offering (course code, ECTS, ISCED field, academic session, ``resultValueType``)
are looked up in ``/persons`` and ``/offerings``. HEROES details (attempt, result status,
change time) ride in OOAPI's extension point, ``consumers`` with ``consumerKey`` heroes-hub.
The score is kept as Fontys prints it (``7,8`` stays ``7,8``; the scheme rounds it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel, Field, SecretStr

from connectors.partners._common import grade_label, partner_esi
from connectors.partners._paged import ChangeListSource, GrowingIndex, PagedList
from connectors.sdk import Connector, ConnectorSettings, LocalDecimal, RecordRejected, Skip
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "fontys.nl"
CONSUMER = "heroes-hub"


class Settings(ConnectorSettings):
    api_url: str = Field(description="OOAPI v5 base URL, e.g. https://<host>/ooapi/v5 (HUB_FONTYS_API_URL).")
    token: SecretStr | None = Field(None, description="Bearer token of the OOAPI client (HUB_FONTYS_TOKEN).")
    page_size: int = Field(100, ge=1, le=250)
    schemes: dict[str, str] = Field(
        {"1-10": "fontys.nl/1-10", "pass-or-fail": "fontys.nl/pass-fail", "OGSU": "fontys.nl/OGSU"},
        description="Offering resultValueType -> grading scheme id.")
    poll_interval: float = 30.0


class Code(BaseModel):
    codeType: str
    code: str


class Person(BaseModel):
    personId: str
    primaryCode: Code
    otherCodes: list[Code] = []


class StudyLoad(BaseModel):
    value: LocalDecimal


class Course(BaseModel):
    primaryCode: Code
    studyLoad: StudyLoad
    fieldsOfStudy: str | None = None


class Session(BaseModel):
    academicSessionId: str = Field(pattern=r"^\d{4}/\d{4}-\d$")


class Offering(BaseModel):
    offeringId: str
    resultValueType: str | None = None
    startDate: date
    academicSession: Session
    course: Course


class Result(BaseModel):
    state: str
    score: str | None = None
    resultDate: date
    studyLoad: StudyLoad


class Consumer(BaseModel):
    consumerKey: str
    modifiedAt: datetime | None = None
    attempt: int = Field(default=1, ge=1)
    resultStatus: GradeStatus | None = None


class Ref(BaseModel):
    personId: str | None = None
    offeringId: str | None = None


class Association(BaseModel):
    associationId: str = Field(min_length=1)
    state: str
    person: Ref
    offering: Ref
    result: Result | None = None
    consumers: list[Consumer] = []


class Input(BaseModel):
    """An association with the person and offering it names (None: not found in /persons or /offerings)."""

    record: Association
    person: Person | None
    offering: Offering | None


def association(a: Input, s: Settings) -> Enrolment | Grade:
    r, person, offering = a.record, a.person, a.offering
    if offering is None:
        raise RecordRejected(r, f"offeringId {r.offering.offeringId} is not in /offerings", "unknown_course")
    if person is None:
        raise RecordRejected(r, f"personId {r.person.personId} is not in /persons", "unknown_student")
    esi = partner_esi(next((c.code for c in person.otherCodes if c.codeType == "esi"), None), r)
    ours = next((c for c in r.consumers if c.consumerKey == CONSUMER), Consumer(consumerKey=CONSUMER))
    course, term = offering.course, offering.academicSession.academicSessionId
    if r.result is None:
        if r.state not in ("associated", "canceled"):
            raise Skip(f"association state {r.state} (not registered yet)")
        return Enrolment(source_hei=HEI, hei=HEI, student_id=person.primaryCode.code, student_esi=esi,
                         course_code=course.primaryCode.code, term_id=term, ects=course.studyLoad.value,
                         status=EnrolmentStatus.REGISTERED if r.state == "associated" else EnrolmentStatus.WITHDRAWN,
                         occurred_at=ours.modifiedAt or _midnight(offering.startDate))
    if r.result.state != "completed":
        raise Skip(f"result state {r.result.state} (no result yet)")
    if offering.resultValueType not in s.schemes:
        raise RecordRejected(r, f"resultValueType {offering.resultValueType!r} of the offering is none of "
                             f"{', '.join(s.schemes)} (HUB_FONTYS_SCHEMES)", "unknown_scheme")
    scheme_id = s.schemes[offering.resultValueType]
    return Grade(source_hei=HEI, hei=HEI, student_id=person.primaryCode.code, student_esi=esi,
                 result_id=r.associationId, course_code=course.primaryCode.code, isced_code=course.fieldsOfStudy,
                 grade_label=grade_label(scheme_id, r.result.score or "", r), grading_scheme_id=scheme_id,
                 ects=r.result.studyLoad.value, assessed_on=r.result.resultDate, attempt=ours.attempt,
                 status=ours.resultStatus or (GradeStatus.REVOKED if r.state == "canceled" else GradeStatus.FINAL),
                 academic_year=term.rsplit("-", 1)[0], occurred_at=ours.modifiedAt or _midnight(r.result.resultDate))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def course_isced(api_url: str) -> dict[str, str]:
    """ISCED-F field of every Fontys course code (the EWP connector puts it on Table B components)."""
    offerings = GrowingIndex(_pages(api_url, "offerings", 250, None), lambda o: o.get("offeringId"))
    try:
        offerings.read_on()
        return {o["course"]["primaryCode"]["code"]: o["course"]["fieldsOfStudy"] for o in offerings.rows.values()
                if o.get("course", {}).get("fieldsOfStudy")}
    finally:
        offerings.close()


def _pages(api_url: str, path: str, size: int, token: SecretStr | None) -> PagedList:
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else None
    return PagedList(f"{api_url.rstrip('/')}/{path}", items="items", page_param="pageNumber", size_param="pageSize",
                     first_page=1, page_size=size, headers=headers, credentials_setting="HUB_FONTYS_TOKEN")


class FontysOoapi(Connector):
    """Registrations and results from Fontys' OOAPI v5 associations."""

    hei = HEI
    description = "OOAPI v5: /associations with /persons and /offerings"
    settings_class = Settings
    mappings = {"associations": association}

    def sources(self, s: Settings) -> list[ChangeListSource]:
        persons = GrowingIndex(_pages(s.api_url, "persons", 250, s.token), lambda p: p.get("personId"))
        offerings = GrowingIndex(_pages(s.api_url, "offerings", 250, s.token), lambda o: o.get("offeringId"))
        return [ChangeListSource("associations", _pages(s.api_url, "associations", s.page_size, s.token),
                                 identity="associationId", poll_interval=s.poll_interval,
                                 joins={"person": (lambda r: r["person"]["personId"], persons),
                                        "offering": (lambda r: r["offering"]["offeringId"], offerings)})]
