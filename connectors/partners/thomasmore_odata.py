"""Thomas More (thomasmore.be): KU Loket's SAP back end as OData v2 JSON → ``Enrolment`` and ``Grade`` events.

Entity sets of the ``ZHEROES_STUDENT_SRV`` service: ``Registrations`` and ``Results``
(read in the order SAP changed them; a result appears again when corrected or revoked,
with a higher ``ChangeCounter``), ``Students`` (the ESI) and ``Modules`` (ECTS, ISCED
field, grading scale), pages of ``{"d": {"results": [...], "__next": url}}``. Dates are
``/Date(<ms since epoch, UTC>)/``, numbers Edm.Decimal strings. ``Status``: F final,
C corrected, R revoked (results); REG registered, WDR withdrawn (registrations).
Grades are kept as printed (``15/20`` stays ``15/20``; the scheme reads it as 15).
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, SecretStr

from connectors.partners._common import grade_label, partner_esi
from connectors.partners._paged import ChangeListSource, GrowingIndex, PagedList
from connectors.sdk import Connector, ConnectorSettings, RecordRejected
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "thomasmore.be"
STATUS = {"F": GradeStatus.FINAL, "C": GradeStatus.CORRECTED, "R": GradeStatus.REVOKED}
REGISTRATION = {"REG": EnrolmentStatus.REGISTERED, "WDR": EnrolmentStatus.WITHDRAWN}
_EDM_DATE = re.compile(r"^/Date\((-?\d+)\)/$")


def _edm_datetime(value: object) -> object:
    if isinstance(value, str) and value.startswith("/Date("):
        match = _EDM_DATE.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not an Edm.DateTime (/Date(<ms>)/)")
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    return value


EdmDateTime = Annotated[datetime, BeforeValidator(_edm_datetime)]


class Settings(ConnectorSettings):
    service_url: str = Field(description="OData service root, e.g. "
                             "https://<host>/sap/opu/odata/sap/ZHEROES_STUDENT_SRV (HUB_THOMASMORE_SERVICE_URL).")
    username: str | None = Field(None, description="SAP user for basic authentication (HUB_THOMASMORE_USERNAME).")
    password: SecretStr | None = Field(None, description="Its password (HUB_THOMASMORE_PASSWORD).")
    page_size: int = Field(200, ge=1, le=1000)
    schemes: dict[str, str] = Field({"0-20": "thomasmore.be/0-20", "GESLAAGD": "thomasmore.be/pass-fail"},
                                    description="Module GradingScale -> grading scheme id.")
    poll_interval: float = 30.0


class Student(BaseModel):
    StudentNumber: str
    Esi: str | None = None


class Module(BaseModel):
    ModuleCode: str
    Ects: Decimal
    IscedCode: str | None = None
    GradingScale: str


class Registration(BaseModel):
    RegistrationId: str = Field(min_length=1)
    StudentNumber: str = Field(min_length=1)
    ModuleCode: str
    AcademicYear: int = Field(ge=1900, le=9999)
    Term: str = Field(pattern=r"^S[12]$")
    Status: str
    ChangedAt: EdmDateTime


class Result(BaseModel):
    ResultId: str = Field(min_length=1)
    StudentNumber: str = Field(min_length=1)
    ModuleCode: str
    Grade: str
    Attempt: int = Field(ge=1)
    ExamDate: EdmDateTime
    Status: str
    Ects: Decimal
    AcademicYear: int = Field(ge=1900, le=9999)
    ChangedAt: EdmDateTime


class RegistrationIn(BaseModel):
    record: Registration
    student: Student | None
    module: Module | None


class ResultIn(BaseModel):
    record: Result
    student: Student | None
    module: Module | None


def registration(a: RegistrationIn, s: Settings) -> Enrolment:
    r, module = a.record, _module(a.record, a.module)
    if r.Status not in REGISTRATION:
        raise RecordRejected(r, f"Status {r.Status!r} is none of {', '.join(REGISTRATION)}", "invalid_record")
    return Enrolment(source_hei=HEI, hei=HEI, student_id=r.StudentNumber, student_esi=_esi(a.student, r),
                     course_code=r.ModuleCode, term_id=f"{_year(r.AcademicYear)}-{r.Term[1]}", ects=module.Ects,
                     status=REGISTRATION[r.Status], occurred_at=r.ChangedAt)


def result(a: ResultIn, s: Settings) -> Grade:
    r, module = a.record, _module(a.record, a.module)
    if r.Status not in STATUS:
        raise RecordRejected(r, f"Status {r.Status!r} is none of {', '.join(STATUS)}", "invalid_record")
    if module.GradingScale not in s.schemes:
        raise RecordRejected(r, f"GradingScale {module.GradingScale!r} of module {r.ModuleCode} is none of "
                             f"{', '.join(s.schemes)} (HUB_THOMASMORE_SCHEMES)", "unknown_scheme")
    scheme_id = s.schemes[module.GradingScale]
    return Grade(source_hei=HEI, hei=HEI, student_id=r.StudentNumber, student_esi=_esi(a.student, r),
                 result_id=r.ResultId, course_code=r.ModuleCode, isced_code=module.IscedCode,
                 grade_label=grade_label(scheme_id, r.Grade, r), grading_scheme_id=scheme_id, ects=r.Ects,
                 assessed_on=r.ExamDate.date(), attempt=r.Attempt, status=STATUS[r.Status],
                 academic_year=_year(r.AcademicYear), occurred_at=r.ChangedAt)


def _module(r: Registration | Result, module: Module | None) -> Module:
    if module is None:
        raise RecordRejected(r, f"ModuleCode {r.ModuleCode} is not in Modules", "unknown_course")
    return module


def _esi(student: Student | None, r: Registration | Result) -> str | None:
    return partner_esi(student.Esi, r) if student is not None else None


def _year(first: int) -> str:
    return f"{first}/{first + 1}"


def _entity_set(service_url: str, name: str, size: int, s: Settings | None = None) -> PagedList:
    headers = None
    if s is not None and s.username:
        secret = s.password.get_secret_value() if s.password else ""
        headers = {"Authorization": "Basic " + base64.b64encode(f"{s.username}:{secret}".encode()).decode()}
    return PagedList(f"{service_url.rstrip('/')}/{name}", items="d.results", paging="next_link", size_param="$top",
                     offset_param="$skip", next_link="d.__next", page_size=size, params={"$format": "json"},
                     headers=headers, credentials_setting="HUB_THOMASMORE_USERNAME and HUB_THOMASMORE_PASSWORD")


def course_isced(service_url: str) -> dict[str, str]:
    """ISCED-F field of every module code (the EWP connector puts it on Table B components)."""
    modules = GrowingIndex(_entity_set(service_url, "Modules", 1000), lambda m: m.get("ModuleCode"))
    try:
        modules.read_on()
        return {code: m["IscedCode"] for code, m in modules.rows.items() if m.get("IscedCode")}
    finally:
        modules.close()


class ThomasMoreOdata(Connector):
    """Registrations and results from KU Loket's SAP OData service."""

    hei = HEI
    description = "SAP OData v2 (ZHEROES_STUDENT_SRV): Registrations and Results with Students and Modules"
    settings_class = Settings
    mappings = {"registrations": registration, "results": result}

    def sources(self, s: Settings) -> list[ChangeListSource]:
        def changes(name: str, entity_set: str, identity: str) -> ChangeListSource:
            students = GrowingIndex(_entity_set(s.service_url, "Students", 1000, s), lambda x: x.get("StudentNumber"))
            modules = GrowingIndex(_entity_set(s.service_url, "Modules", 1000, s), lambda x: x.get("ModuleCode"))
            return ChangeListSource(name, _entity_set(s.service_url, entity_set, s.page_size, s), identity=identity,
                                    poll_interval=s.poll_interval,
                                    joins={"student": (lambda r: r["StudentNumber"], students),
                                           "module": (lambda r: r["ModuleCode"], modules)})
        return [changes("registrations", "Registrations", "RegistrationId"), changes("results", "Results", "ResultId")]
