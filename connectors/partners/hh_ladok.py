"""Halmstad (hh.se): Ladok 3's Atom feed → ``Enrolment`` and ``Grade`` events.

The feed (``/uppfoljning/feed/recent``, archives linked by ``prev-archive``) is read
from the oldest unread page on. Entries: ``RegistreringEvent`` / ``AvbrottEvent``
(registered / withdrawn), ``ResultatPaHelKursAttesteratEvent`` (an attested result;
``Handelsetyp`` UPPDATERAD marks a correction of the same ``ResultatUID``),
``AttesteratResultatMakuleratEvent`` (the named result is revoked) and
``LokalStudentEvent`` (a student's ESI, remembered for the events that follow).
Ladok gives grades as ids: ``BetygsgradID`` is resolved to the label through the
grading-scale lookup (``/resultat/grunddata/betygsskala``, fetched once and cached),
courses through ``/utbildningsinformation/kurstillfalle``.

Ladok has no attempt number: every grade says attempt 1 (the hub orders a student's
results of one course by assessment date). ``ResultatPaModulAttesteratEvent`` (a
module of a course) is skipped: it is not the course's grade, and when the module
result is the course result Ladok sends the whole-course event too.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field

from connectors.partners._common import grade_label, partner_esi
from connectors.partners._ladok import Lookups, StudentDirectory, ladok_feed
from connectors.partners._paged import Enriched
from connectors.sdk import Connector, ConnectorSettings, RecordRejected, Skip
from connectors.sources import AtomFeedSource
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "hh.se"
ENROLMENT = {"RegistreringEvent": EnrolmentStatus.REGISTERED, "AvbrottEvent": EnrolmentStatus.WITHDRAWN}
RESULT = ("ResultatPaHelKursAttesteratEvent", "AttesteratResultatMakuleratEvent")
PERIOD = re.compile(r"^(?P<half>HT|VT)(?P<year>\d{4})$")  # höst- / vårtermin


class Settings(ConnectorSettings):
    api_url: str = Field(description="Ladok API base URL, e.g. https://api.ladok.se (HUB_HH_API_URL).")
    feed_path: str = "/uppfoljning/feed/recent"
    scales_path: str = "/resultat/grunddata/betygsskala"
    courses_path: str = "/utbildningsinformation/kurstillfalle"
    client_cert: Path | None = Field(None, description="Ladok client certificate, PEM (HUB_HH_CLIENT_CERT).")
    client_key: Path | None = Field(None, description="Its private key, PEM (HUB_HH_CLIENT_KEY).")
    scales: dict[str, str] = Field({"UG": "hh.se/pass-fail", "UVG": "hh.se/U-G-VG", "TH": "hh.se/U-3-4-5",
                                    "AF": "hh.se/A-F"}, description="Betygsskala Kod -> grading scheme id.")
    student_directory: Path = Field(Path("var/hh.se/students.sqlite"),
                                    description="Where StudentUID -> ESI is remembered (HUB_HH_STUDENT_DIRECTORY).")
    lookup_min_age: float = Field(60.0, description="Seconds before a lookup is fetched again on a miss.")
    poll_interval: float = 30.0


class Kurstillfalle(BaseModel):
    Uid: str
    Utbildningskod: str
    Omfattning: Decimal
    Studieperiod: str = Field(pattern=PERIOD.pattern)
    ISCED: str | None = None


class Betygsskala(BaseModel):
    Kod: str
    grades: dict[str, str]


class Resultat(BaseModel):
    BetygsgradID: str
    BetygsskalaID: str
    Examinationsdatum: date
    ResultatUID: str = Field(min_length=1)


class LadokEntry(BaseModel):
    """One feed entry with what it names looked up (None: not in the lookup)."""

    event: str
    entry_id: str
    updated: datetime
    handelsetyp: str | None = None
    StudentUID: str | None = None
    KurstillfalleUID: str | None = None
    Period: str | None = Field(None, pattern=PERIOD.pattern)
    esi: str | None = None
    resultat: Resultat | None = None
    course: Kurstillfalle | None = None
    scale: Betygsskala | None = None


def entry(e: LadokEntry, s: Settings) -> Enrolment | Grade:
    if e.event not in ENROLMENT and e.event not in RESULT:
        raise Skip(f"{e.event} is not needed by the hub" if e.event != "LokalStudentEvent"
                   else "LokalStudentEvent: the student's ESI is remembered")
    if not e.StudentUID:
        raise RecordRejected(e, f"{e.event} {e.entry_id} names no StudentUID", "invalid_record")
    if e.course is None:
        raise RecordRejected(e, f"KurstillfalleUID {e.KurstillfalleUID} is not in the course instances "
                             f"({s.courses_path})", "unknown_course")
    esi, course = partner_esi(e.esi, e), e.course
    if e.event in ENROLMENT:
        return Enrolment(source_hei=HEI, hei=HEI, student_id=e.StudentUID, student_esi=esi,
                         course_code=course.Utbildningskod, term_id=term_id(e.Period or course.Studieperiod),
                         ects=course.Omfattning, status=ENROLMENT[e.event], occurred_at=e.updated)
    if e.resultat is None:
        raise RecordRejected(e, f"{e.event} {e.entry_id} has no Resultat", "invalid_record")
    r = e.resultat
    if e.scale is None:
        raise RecordRejected(e, f"BetygsskalaID {r.BetygsskalaID} is not in the grading-scale lookup", "unknown_scheme")
    if e.scale.Kod not in s.scales:
        raise RecordRejected(e, f"grading scale {e.scale.Kod!r} is none of {', '.join(s.scales)} (HUB_HH_SCALES)",
                             "unknown_scheme")
    label = e.scale.grades.get(r.BetygsgradID)
    if label is None:
        raise RecordRejected(e, f"BetygsgradID {r.BetygsgradID} is not a grade of BetygsskalaID {r.BetygsskalaID} "
                             f"({e.scale.Kod}: {', '.join(e.scale.grades)})", "unknown_grade")
    scheme_id = s.scales[e.scale.Kod]
    status = GradeStatus.REVOKED if e.event == "AttesteratResultatMakuleratEvent" else (
        GradeStatus.CORRECTED if e.handelsetyp == "UPPDATERAD" else GradeStatus.FINAL)
    return Grade(source_hei=HEI, hei=HEI, student_id=e.StudentUID, student_esi=esi, result_id=r.ResultatUID,
                 course_code=course.Utbildningskod, isced_code=course.ISCED,
                 grade_label=grade_label(scheme_id, label, e), grading_scheme_id=scheme_id, ects=course.Omfattning,
                 assessed_on=r.Examinationsdatum, attempt=1, status=status,
                 academic_year=term_id(course.Studieperiod).rsplit("-", 1)[0], occurred_at=e.updated)


def term_id(period: str) -> str:
    """``HT2025`` (autumn) → ``2025/2026-1``; ``VT2026`` (spring) → ``2025/2026-2``."""
    m = PERIOD.match(period)
    assert m is not None  # the models check the pattern
    year = int(m["year"])
    return f"{year}/{year + 1}-1" if m["half"] == "HT" else f"{year - 1}/{year}-2"


def course_isced(api_url: str) -> dict[str, str]:
    """ISCED-F field of every course code (the EWP connector puts it on Table B components)."""
    lookups = Lookups(api_url.rstrip("/") + Settings.model_fields["scales_path"].default,
                      api_url.rstrip("/") + Settings.model_fields["courses_path"].default,
                      cert=None, min_age=0.0, credentials_setting="HUB_HH_CLIENT_CERT")
    try:
        return {str(r["Utbildningskod"]): str(r["ISCED"]) for r in lookups.courses() if r.get("ISCED")}
    finally:
        lookups.close()


class HhLadok(Connector):
    """Registrations and attested results from Halmstad's Ladok 3 event feed."""

    hei = HEI
    description = "Ladok 3 Atom feed (uppfoljning), grades resolved through the grading-scale lookup"
    settings_class = Settings
    mappings = {"feed": entry}

    def sources(self, s: Settings) -> list[Enriched]:
        base = s.api_url.rstrip("/")
        cert = (str(s.client_cert), str(s.client_key)) if s.client_cert and s.client_key else None
        feed = AtomFeedSource("feed", base + s.feed_path, cert=cert, credentials_setting="HUB_HH_CLIENT_CERT",
                              poll_interval=s.poll_interval)
        lookups = Lookups(base + s.scales_path, base + s.courses_path, cert=cert, min_age=s.lookup_min_age,
                          credentials_setting="HUB_HH_CLIENT_CERT")
        return [ladok_feed(feed, lookups, StudentDirectory(s.student_directory))]
