"""Thomas More (thomasmore.be): KU Loket's SAP back end as OData v2 JSON → ``Enrolment`` and ``Grade`` events.

Entity sets of ``ZHEROES_STUDENT_SRV``: ``Registrations`` (Status REG, WDR) and ``Results`` (F final, C corrected,
R revoked), read in the order SAP changed them, with ``Students`` (ESI) and ``Modules`` (ECTS, ISCED field,
grading scale) looked up. Dates are ``/Date(<ms since epoch, UTC>)/``. Grades stay as printed (``15/20``).
"""

from decimal import Decimal
from typing import Any

from pydantic import AliasPath, BaseModel, Field, SecretStr

from connectors.partners._common import (BaseUrl, EdmDateTime, Joined, SourceLookup, grade_label, isced_reader, listed,
                                         one_of, partner_esi)
from connectors.sdk import Connector, ConnectorSettings
from connectors.sources import HttpSource
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "thomasmore.be"
STATUS = {"F": GradeStatus.FINAL, "C": GradeStatus.CORRECTED, "R": GradeStatus.REVOKED}
REGISTRATION = {"REG": EnrolmentStatus.REGISTERED, "WDR": EnrolmentStatus.WITHDRAWN}
SCHEMES = {"0-20": "thomasmore.be/0-20", "GESLAAGD": "thomasmore.be/pass-fail"}  # by module GradingScale
ODATA: dict[str, Any] = dict(records_path="d.results", paging="next_link", next_link="d.__next", offset_param="$skip",
                             limit_param="$top", params={"$format": "json"}, append_only=True)  # read by position


class Settings(ConnectorSettings):
    service_url: BaseUrl = Field(description="OData root, e.g. https://<host>/sap/opu/odata/sap/ZHEROES_STUDENT_SRV.")
    username: str | None = Field(None, description="SAP user for basic authentication (HUB_THOMASMORE_USERNAME).")
    password: SecretStr | None = Field(None, description="Its password (HUB_THOMASMORE_PASSWORD).")
    page_size: int = Field(200, ge=1, le=1000)
    poll_interval: float = 30.0


class Module(BaseModel):
    Ects: Decimal
    IscedCode: str | None = None
    GradingScale: str


class Record(BaseModel):  # what registrations and results share, with the student and module looked up
    StudentNumber: str = Field(min_length=1)
    ModuleCode: str
    AcademicYear: int = Field(ge=1900, le=9999)
    Status: str
    ChangedAt: EdmDateTime
    esi: str | None = Field(None, validation_alias=AliasPath("_student", "Esi"))
    module: Module | None = Field(None, alias="_module")


class Registration(Record):
    RegistrationId: str = Field(min_length=1)
    Term: str = Field(pattern=r"^S[12]$")


class Result(Record):
    ResultId: str = Field(min_length=1)
    Grade: str
    Attempt: int = Field(ge=1)
    ExamDate: EdmDateTime
    Ects: Decimal


def registration(r: Registration, s: Settings) -> Enrolment:
    module, year = listed(r.module, r.ModuleCode, "Modules", r), f"{r.AcademicYear}/{r.AcademicYear + 1}"
    return Enrolment(source_hei=HEI, hei=HEI, student_id=r.StudentNumber, student_esi=partner_esi(r.esi, r),
                     course_code=r.ModuleCode, term_id=f"{year}-{r.Term[1]}", ects=module.Ects,
                     status=one_of(REGISTRATION, r.Status, "Status", r), occurred_at=r.ChangedAt)


def result(r: Result, s: Settings) -> Grade:
    module, year = listed(r.module, r.ModuleCode, "Modules", r), f"{r.AcademicYear}/{r.AcademicYear + 1}"
    scheme_id = one_of(SCHEMES, module.GradingScale, f"GradingScale of module {r.ModuleCode}", r, "unknown_scheme")
    return Grade(source_hei=HEI, hei=HEI, student_id=r.StudentNumber, student_esi=partner_esi(r.esi, r),
                 result_id=r.ResultId, course_code=r.ModuleCode, isced_code=module.IscedCode, ects=r.Ects,
                 grading_scheme_id=scheme_id, grade_label=grade_label(scheme_id, r.Grade, r), attempt=r.Attempt,
                 assessed_on=r.ExamDate.date(), status=one_of(STATUS, r.Status, "Status", r), academic_year=year,
                 occurred_at=r.ChangedAt)


course_isced = isced_reader(lambda url: SourceLookup(HttpSource("m", f"{url}/Modules", page_size=1000, **ODATA),
                                                     "ModuleCode"), "ModuleCode", "IscedCode")


class ThomasMoreOdata(Connector):
    description = "SAP OData v2 (ZHEROES_STUDENT_SRV): Registrations and Results with Students and Modules"
    hei, settings_class, mappings = HEI, Settings, {"registrations": registration, "results": result}

    def sources(self, s: Settings) -> list[Joined]:
        def entity_set(name: str, **kw: Any) -> HttpSource:
            return HttpSource(name.lower(), f"{s.service_url}/{name}", basic_auth=(s.username, s.password), **ODATA,
                              credentials_setting="HUB_THOMASMORE_USERNAME and _PASSWORD", **kw)
        refs = {"_student": ("StudentNumber", SourceLookup(entity_set("Students", page_size=1000), "StudentNumber")),
                "_module": ("ModuleCode", SourceLookup(entity_set("Modules", page_size=1000), "ModuleCode"))}
        return [Joined(entity_set(name, page_size=s.page_size, identity_field=key, poll_interval=s.poll_interval),
                       refs=refs) for name, key in (("Registrations", "RegistrationId"), ("Results", "ResultId"))]
