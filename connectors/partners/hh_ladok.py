"""Halmstad (hh.se): Ladok 3's Atom feed → ``Enrolment`` and ``Grade`` events.

``RegistreringEvent`` / ``AvbrottEvent``: registered / withdrawn; ``ResultatPaHelKursAttesteratEvent``: a result
(``Handelsetyp`` UPPDATERAD: corrected); ``AttesteratResultatMakuleratEvent``: revoked; ``LokalStudentEvent``: the
student's ESI, remembered for later entries. Grade and course ids are resolved through the grading-scale and
course-instance lookups. Ladok has no attempt number: every grade says 1 (the hub orders results by date).
"""

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from connectors.partners._common import Joined, JsonLookup, Remembered, grade_label, isced_reader, partner_esi
from connectors.sdk import Connector, ConnectorSettings, RecordRejected, Skip
from connectors.sources import AtomFeedSource, AtomRecord
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI, FINAL = "hh.se", "ResultatPaHelKursAttesteratEvent"
ENROLMENT = {"RegistreringEvent": EnrolmentStatus.REGISTERED, "AvbrottEvent": EnrolmentStatus.WITHDRAWN}
RESULT = {FINAL: GradeStatus.FINAL, "AttesteratResultatMakuleratEvent": GradeStatus.REVOKED}
SCHEMES = {"UG": "hh.se/pass-fail", "UVG": "hh.se/U-G-VG", "TH": "hh.se/U-3-4-5", "AF": "hh.se/A-F"}  # by scale Kod
FEED, SCALES, COURSES = "/uppfoljning/feed/recent", "/resultat/grunddata/betygsskala", "/utbildningsinformation/kurstillfalle"


def term_id(period: str) -> str:
    """``HT2025`` (höstterminen) → ``2025/2026-1``; ``VT2026`` (vårterminen) → ``2025/2026-2``."""
    if not (m := re.fullmatch(r"(HT|VT)(\d{4})", period)):
        raise ValueError(f"{period!r} is not a Ladok period (HT2025, VT2026)")
    return f"{m[2]}/{int(m[2]) + 1}-1" if m[1] == "HT" else f"{int(m[2]) - 1}/{m[2]}-2"


class Settings(ConnectorSettings):
    api_url: str = Field(description="Ladok API base URL, e.g. https://api.ladok.se (HUB_HH_API_URL).")
    client_cert: Path | None = Field(None, description="Ladok client certificate, PEM (HUB_HH_CLIENT_CERT).")
    client_key: Path | None = Field(None, description="Its private key, PEM (HUB_HH_CLIENT_KEY).")
    student_directory: Path = Field(Path("var/hh.se/students.sqlite"), description="StudentUID -> ESI, remembered.")
    lookup_min_age: float = Field(60.0, description="Seconds before a lookup is fetched again on a miss.")
    poll_interval: float = 30.0


class Kurstillfalle(BaseModel):
    Utbildningskod: str
    Omfattning: Decimal
    Studieperiod: Annotated[str, AfterValidator(term_id)]
    ISCED: str | None = None


class Betygsskala(BaseModel):
    Kod: str
    grades: dict[str, str]  # BetygsgradID -> label


class Result(BaseModel):
    BetygsgradID: str
    BetygsskalaID: str
    Examinationsdatum: date
    ResultatUID: str = Field(min_length=1)


class Entry(AtomRecord):  # id, updated, event, the content's fields, and what they name looked up (None: not found)
    Handelsetyp: str | None = None
    StudentUID: str = Field("", min_length=1)
    KurstillfalleUID: str | None = None
    Period: Annotated[str, AfterValidator(term_id)] | None = None
    Resultat: Result | None = None
    esi: str | None = None
    course: Kurstillfalle | None = None
    scale: Betygsskala | None = None


def entry(e: Entry, s: Settings) -> Enrolment | Grade:
    if e.event not in ENROLMENT and e.event not in RESULT:
        raise Skip(f"{e.event}: not needed by the hub (a LokalStudentEvent's ESI is remembered)")
    if (c := e.course) is None:
        raise RecordRejected(e, f"KurstillfalleUID {e.KurstillfalleUID} is not in {COURSES}", "unknown_course")
    common = dict(source_hei=HEI, hei=HEI, student_id=e.StudentUID, student_esi=partner_esi(e.esi, e),
                  course_code=c.Utbildningskod, ects=c.Omfattning, occurred_at=e.updated)
    if e.event in ENROLMENT:
        return Enrolment(**common, term_id=e.Period or c.Studieperiod, status=ENROLMENT[e.event])
    if (r := e.Resultat) is None or e.scale is None or (scheme_id := SCHEMES.get(e.scale.Kod)) is None:
        raise RecordRejected(e, f"{e.event} {e.id}: no Resultat, or its BetygsskalaID is not one of the scales "
                             f"{', '.join(SCHEMES)}", "unknown_scheme")
    if (label := e.scale.grades.get(r.BetygsgradID)) is None:
        raise RecordRejected(e, f"BetygsgradID {r.BetygsgradID} is not a grade of BetygsskalaID {r.BetygsskalaID} "
                             f"({e.scale.Kod}: {', '.join(e.scale.grades)})", "unknown_grade")
    return Grade(**common, result_id=r.ResultatUID, isced_code=c.ISCED, grading_scheme_id=scheme_id, attempt=1,
                 grade_label=grade_label(scheme_id, label, e), assessed_on=r.Examinationsdatum,
                 status=GradeStatus.CORRECTED if e.event == FINAL and e.Handelsetyp == "UPPDATERAD" else RESULT[e.event],
                 academic_year=c.Studieperiod.rsplit("-", 1)[0])


course_isced = isced_reader(lambda api_url: JsonLookup(api_url + COURSES, "Uid"), "Utbildningskod", "ISCED")


class HhLadok(Connector):
    description = "Ladok 3 Atom feed (uppfoljning), grades resolved through the grading-scale lookup"
    hei, settings_class, mappings = HEI, Settings, {"feed": entry}

    def sources(self, s: Settings) -> list[Joined]:
        cert = (str(s.client_cert), str(s.client_key)) if s.client_cert and s.client_key else None
        client, students = {"cert": cert, "credentials_setting": "HUB_HH_CLIENT_CERT"}, Remembered(s.student_directory)
        feed = AtomFeedSource("feed", s.api_url + FEED, as_dict=True, poll_interval=s.poll_interval, **client)
        courses, scales = (JsonLookup(s.api_url + path, key, s.lookup_min_age, **client)
                           for path, key in ((COURSES, "Uid"), (SCALES, None)))
        return [Joined(feed, transform=students.learn("StudentUID", "EuropeanStudentIdentifier"), refs={
            "esi": (lambda e: e["StudentUID"], students), "course": (lambda e: e["KurstillfalleUID"], courses),
            "scale": (lambda e: e["Resultat"]["BetygsskalaID"], scales)})]
