"""Fontys (fontys.nl): Open Education API v5 → ``Enrolment`` and ``Grade`` events.

``/associations``: association versions as they changed (registered, result, corrected; ``canceled``: withdrawn, or
revoked if it has a result), with persons (ESI in ``otherCodes``) and offerings looked up. Attempt, result status
and change time ride in OOAPI's extension point, ``consumers`` (``heroes-hub``).
"""

from datetime import date, datetime
from typing import Any

from pydantic import AliasPath, BaseModel, Field

from connectors.partners._common import (ApiSettings, Joined, SourceLookup, grade_label, isced_reader, listed,
                                         local_midnight, one_of, partner_esi)
from connectors.sdk import Connector, LocalDecimal, Skip
from connectors.sources import HttpSource
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI, CONSUMER = "fontys.nl", "heroes-hub"
SCHEMES = {"1-10": "fontys.nl/1-10", "pass-or-fail": "fontys.nl/pass-fail", "OGSU": "fontys.nl/OGSU"}
REGISTRATION = {"associated": EnrolmentStatus.REGISTERED, "canceled": EnrolmentStatus.WITHDRAWN}
OOAPI: dict[str, Any] = dict(records_path="items", paging="page", first_page=1, page_param="pageNumber",
                             limit_param="pageSize", append_only=True, credentials_setting="HUB_FONTYS_TOKEN")


class Person(BaseModel):
    number: str = Field(validation_alias=AliasPath("primaryCode", "code"))
    otherCodes: list[dict[str, str]] = []  # {"codeType": "esi", "code": ...}


class Offering(BaseModel):
    resultValueType: str | None = None
    startDate: date
    session: str = Field(validation_alias=AliasPath("academicSession", "academicSessionId"))  # 2025/2026-1
    code: str = Field(validation_alias=AliasPath("course", "primaryCode", "code"))
    ects: LocalDecimal = Field(validation_alias=AliasPath("course", "studyLoad", "value"))
    isced: str | None = Field(None, validation_alias=AliasPath("course", "fieldsOfStudy"))


class Result(BaseModel):
    state: str
    score: str | None = None
    resultDate: date
    ects: LocalDecimal = Field(validation_alias=AliasPath("studyLoad", "value"))


class Consumer(BaseModel):
    consumerKey: str = CONSUMER
    modifiedAt: datetime | None = None
    attempt: int = Field(default=1, ge=1)
    resultStatus: GradeStatus | None = None


class Association(BaseModel):  # with the person and offering it names, as looked up (None: not found)
    associationId: str = Field(min_length=1)
    state: str
    result: Result | None = None
    consumers: list[Consumer] = []
    personId: str | None = Field(None, validation_alias=AliasPath("person", "personId"))
    offeringId: str | None = Field(None, validation_alias=AliasPath("offering", "offeringId"))
    person: Person | None = Field(None, alias="_person")
    offering: Offering | None = Field(None, alias="_offering")


def association(r: Association, s: ApiSettings) -> Enrolment | Grade:
    o = listed(r.offering, r.offeringId, "/offerings", r)
    p = listed(r.person, r.personId, "/persons", r, "unknown_student")
    ours = next((c for c in r.consumers if c.consumerKey == CONSUMER), Consumer())
    esi = partner_esi(next((c.get("code") for c in p.otherCodes if c.get("codeType") == "esi"), None), r)
    common: dict[str, Any] = dict(source_hei=HEI, hei=HEI, student_id=p.number, student_esi=esi, course_code=o.code)
    if r.result is None and r.state in REGISTRATION:
        return Enrolment(**common, term_id=o.session, ects=o.ects, status=REGISTRATION[r.state],
                         occurred_at=ours.modifiedAt or local_midnight(o.startDate, "UTC"))
    if r.result is None or r.result.state != "completed":
        raise Skip(f"association state {r.state}, result state {r.result and r.result.state}: nothing to publish yet")
    scheme_id = one_of(SCHEMES, o.resultValueType, "resultValueType of the offering", r, "unknown_scheme")
    return Grade(**common, result_id=r.associationId, isced_code=o.isced, grading_scheme_id=scheme_id,
                 grade_label=grade_label(scheme_id, r.result.score or "", r), ects=r.result.ects,
                 assessed_on=r.result.resultDate, attempt=ours.attempt, academic_year=o.session.rsplit("-", 1)[0],
                 status=ours.resultStatus or (GradeStatus.REVOKED if r.state == "canceled" else GradeStatus.FINAL),
                 occurred_at=ours.modifiedAt or local_midnight(r.result.resultDate, "UTC"))


course_isced = isced_reader(lambda url: SourceLookup(HttpSource("o", url + "/offerings", page_size=250, **OOAPI),
                                                       "offeringId"), "course.primaryCode.code", "course.fieldsOfStudy")


class FontysOoapi(Connector):
    description = "OOAPI v5: /associations with /persons and /offerings"
    hei, settings_class, mappings = HEI, ApiSettings, {"associations": association}  # api_url: .../ooapi/v5

    def sources(self, s: ApiSettings) -> list[Joined]:
        def listing(path: str, **kw: Any) -> HttpSource:
            return HttpSource(path, f"{s.api_url}/{path}", bearer_token=s.token, **OOAPI, **kw)
        persons, offerings = listing("persons", page_size=250), listing("offerings", page_size=250)
        changes = listing("associations", page_size=s.page_size, identity_field="associationId",
                          poll_interval=s.poll_interval)
        return [Joined(changes, refs={"_person": ("person.personId", SourceLookup(persons, "personId")),
                                      "_offering": ("offering.offeringId", SourceLookup(offerings, "offeringId"))})]
