"""Halmstad (hh.se): Ladok 3's Atom feed → ``Enrolment`` and ``Grade`` events.

Entries: Registrering / Avbrott (registered / withdrawn), ResultatPaHelKursAttesterat (a result; UPPDATERAD: corrected),
AttesteratResultatMakulerat (revoked), LokalStudent (an ESI, remembered). Ladok has no attempt number: grades say 1.
"""

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, AliasPath, BaseModel, Field

from connectors.partners._common import (BaseUrl, Joined, JsonLookup, Remembered, grade_label, isced_reader, listed,
                                         one_of, partner_esi)
from connectors.sdk import Connector, ConnectorSettings, RecordRejected, Skip
from connectors.sources import AtomFeedSource, AtomRecord
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI, FINAL = "hh.se", "ResultatPaHelKursAttesteratEvent"
ENROLMENT = {"RegistreringEvent": EnrolmentStatus.REGISTERED, "AvbrottEvent": EnrolmentStatus.WITHDRAWN}
RESULT = {FINAL: GradeStatus.FINAL, "AttesteratResultatMakuleratEvent": GradeStatus.REVOKED}
SCHEMES = {"UG": "hh.se/pass-fail", "UVG": "hh.se/U-G-VG", "TH": "hh.se/U-3-4-5", "AF": "hh.se/A-F"}  # by scale Kod
FEED, SCALES = "/uppfoljning/feed/recent", "/resultat/grunddata/betygsskala"
COURSES = "/utbildningsinformation/kurstillfalle"


def term_id(period: str) -> str:
    """``HT2025`` (höstterminen) → ``2025/2026-1``; ``VT2026`` (vårterminen) → ``2025/2026-2``."""
    year = int(period[2:]) - (period[:2] == "VT")
    return f"{year}/{year + 1}-{1 if period[:2] == 'HT' else 2}"


class Settings(ConnectorSettings):
    api_url: BaseUrl = Field(description="Ladok API base URL, e.g. https://api.ladok.se (HUB_HH_API_URL).")
    client_cert: Path | None = Field(None, description="Ladok client certificate, PEM (HUB_HH_CLIENT_CERT).")
    client_key: Path | None = Field(None, description="Its private key, PEM (HUB_HH_CLIENT_KEY).")
    student_directory: Path = Field(Path("var/hh.se/students.sqlite"), description="StudentUID -> ESI, remembered.")
    lookup_min_age: float = Field(60.0, description="Seconds before a lookup is fetched again on a miss.")
    poll_interval: float = 30.0


class Result(BaseModel):
    BetygsgradID: str
    BetygsskalaID: str
    Examinationsdatum: date
    ResultatUID: str = Field(min_length=1)


class Entry(AtomRecord):  # id, updated, event, the content's fields, and what they name looked up (None: not found)
    Handelsetyp: str | None = None
    StudentUID: str = Field("", min_length=1)
    KurstillfalleUID: str | None = None
    Period: Annotated[str, Field(pattern=r"^(HT|VT)\d{4}$"), AfterValidator(term_id)] | None = None
    Resultat: Result | None = None
    esi: str | None = None
    Utbildningskod: str | None = Field(None, validation_alias=AliasPath("course", "Utbildningskod"))  # Kurstillfalle
    Omfattning: Decimal | None = Field(None, validation_alias=AliasPath("course", "Omfattning"))
    Studieperiod: Annotated[str, Field(pattern=r"^(HT|VT)\d{4}$"), AfterValidator(term_id)] = Field(
        "", validation_alias=AliasPath("course", "Studieperiod"))
    ISCED: str | None = Field(None, validation_alias=AliasPath("course", "ISCED"))
    scale: str | None = Field(None, validation_alias=AliasPath("scale", "Kod"))  # the Betygsskala of the result
    grades: dict[str, str] = Field({}, validation_alias=AliasPath("scale", "grades"))  # its BetygsgradID -> label


def entry(e: Entry, s: Settings) -> Enrolment | Grade:
    if e.event not in ENROLMENT and e.event not in RESULT:
        raise Skip(f"{e.event}: not needed by the hub (a LokalStudentEvent's ESI is remembered)")
    common: dict[str, Any] = dict(source_hei=HEI, hei=HEI, student_id=e.StudentUID, ects=e.Omfattning,
                                  student_esi=partner_esi(e.esi, e), occurred_at=e.updated,
                                  course_code=listed(e.Utbildningskod, e.KurstillfalleUID, COURSES, e))
    if e.event in ENROLMENT:
        return Enrolment(**common, term_id=e.Period or e.Studieperiod, status=ENROLMENT[e.event])
    if (r := e.Resultat) is None:
        raise RecordRejected(e, f"{e.event} {e.id} has no Resultat", "invalid_record")
    scheme_id = one_of(SCHEMES, e.scale, f"the scale of BetygsskalaID {r.BetygsskalaID}", e, "unknown_scheme")
    label = one_of(e.grades, r.BetygsgradID, f"BetygsgradID of BetygsskalaID {r.BetygsskalaID}", e, "unknown_grade")
    return Grade(**common, result_id=r.ResultatUID, isced_code=e.ISCED, grading_scheme_id=scheme_id, attempt=1,
                 grade_label=grade_label(scheme_id, label, e), assessed_on=r.Examinationsdatum,
                 status=GradeStatus.CORRECTED if e.event == FINAL and e.Handelsetyp == "UPPDATERAD" else RESULT[e.event],
                 academic_year=e.Studieperiod.rsplit("-", 1)[0])


course_isced = isced_reader(lambda api_url: JsonLookup(api_url + COURSES, "Uid"), "Utbildningskod", "ISCED")


class HhLadok(Connector):
    description = "Ladok 3 Atom feed (uppfoljning), grades resolved through the grading-scale lookup"
    hei, settings_class, mappings = HEI, Settings, {"feed": entry}

    def sources(self, s: Settings) -> list[Joined]:
        client: dict[str, Any] = {"cert": (s.client_cert, s.client_key), "credentials_setting": "HUB_HH_CLIENT_CERT"}
        feed = AtomFeedSource("feed", s.api_url + FEED, as_dict=True, poll_interval=s.poll_interval, **client)
        courses, scales = (JsonLookup(s.api_url + path, key, s.lookup_min_age, **client)
                           for path, key in ((COURSES, "Uid"), (SCALES, None)))
        students = Remembered(s.student_directory)
        return [Joined(feed, transform=students.learn("StudentUID", "EuropeanStudentIdentifier"), refs={
            "esi": ("StudentUID", students), "course": ("KurstillfalleUID", courses),
            "scale": ("Resultat.BetygsskalaID", scales)})]
