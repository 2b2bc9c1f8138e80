"""Deggendorf (th-deg.de): PRIMUSS CSV exports in a drop folder → ``Grade`` and ``Enrolment`` events.

Each PRIMUSS export run drops up to three files: ``Notenexport_*.csv`` (grades),
``Anmeldungen_*.csv`` (exam registrations) and ``Studierende_*.csv`` (students with
their ESI); ``Pruefungen.csv`` is the exam catalogue. cp1252, ``;``, decimal comma,
German dates, Europe/Berlin times::

    Matrikelnummer;Prüfungsnummer;Note;ECTS;Prüfungsdatum;Versuch;Status
    22000678;8150;3,0;5,0;01.09.2026;2;endgültig

Files are read byte for byte and every row is decoded as cp1252 on its own, so one row
written in another code page is one dead letter, not a lost file.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator

from connectors.partners._common import (
    FileLookup,
    Joined,
    Ref,
    grade_label,
    local_midnight,
    partner_esi,
    read,
    unknown_course,
)
from connectors.sdk import (
    Connector,
    ConnectorSettings,
    LocalDecimal,
    RecordRejected,
    Skip,
)
from connectors.sources import FileDropSource
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "th-deg.de"
ZONE = "Europe/Berlin"
STATUS = {"endgültig": GradeStatus.FINAL, "korrigiert": GradeStatus.CORRECTED,
          "annulliert": GradeStatus.REVOKED, "storniert": GradeStatus.REVOKED}
REGISTRATION = {"angemeldet": EnrolmentStatus.REGISTERED, "abgemeldet": EnrolmentStatus.WITHDRAWN}
SCALES = {"1,0-5,0": "th-deg.de/1-5", "mit/ohne Erfolg": "th-deg.de/pass-fail"}
SEMESTER = re.compile(r"^(?:WS (?P<ws>\d{4})/\d{2}|SS (?P<ss>\d{4}))$")


class Settings(ConnectorSettings):
    folder: Path = Field(description="Drop folder of the PRIMUSS exports (HUB_TH_DEG_FOLDER).")
    exams_file: Path = Field(description="The exam catalogue Pruefungen.csv (HUB_TH_DEG_EXAMS_FILE).")
    encoding: str = "cp1252"
    poll_interval: float = 10.0


class Exam(BaseModel):
    """A row of Pruefungen.csv."""

    ects: LocalDecimal = Field(alias="ECTS")
    scale: str = Field(alias="Notenskala")
    isced: str = Field(alias="ISCED")
    semester: str = Field(alias="Semester", pattern=SEMESTER.pattern)


class Person(BaseModel):
    """A row of a Studierende export."""

    esi: str | None = Field(None, alias="ESI")


class Joins(BaseModel):
    """The reference rows the source joined to a row (None: not in the catalogue / student lists)."""

    exam: Exam | None = Field(None, alias="_exam")
    person: Person | None = Field(None, alias="_student")


class GradeRow(Joins):
    student: str = Field(alias="Matrikelnummer", min_length=1)
    course: str = Field(alias="Prüfungsnummer", min_length=1)
    grade: str = Field(alias="Note", min_length=1)
    ects: LocalDecimal = Field(alias="ECTS")
    assessed_on: date = Field(alias="Prüfungsdatum")
    attempt: int = Field(alias="Versuch", ge=1)
    status: str = Field(alias="Status")

    @field_validator("assessed_on", mode="before")
    @classmethod
    def _german(cls, value: str) -> date:
        day, month, year = value.split(".")  # 14.07.2025
        return date(int(year), int(month), int(day))


class RegistrationRow(Joins):
    student: str = Field(alias="Matrikelnummer", min_length=1)
    course: str = Field(alias="Prüfungsnummer", min_length=1)
    semester: str = Field(alias="Semester", pattern=SEMESTER.pattern)
    at: datetime = Field(alias="Zeitstempel")
    status: str = Field(alias="Status")

    @field_validator("at", mode="before")
    @classmethod
    def _berlin(cls, value: str) -> datetime:
        return datetime.strptime(value, "%d.%m.%Y %H:%M:%S").replace(tzinfo=ZoneInfo(ZONE))


def grade(raw: dict[str, str], s: Settings) -> Grade:
    r = read(GradeRow, _decoded(raw, s.encoding), raw, decimal_separator=",")
    exam, esi = _joined(r, s, raw)
    if r.status not in STATUS:
        raise RecordRejected(raw, f"Status {r.status!r} is none of {', '.join(STATUS)}", "invalid_record")
    if exam.scale not in SCALES:
        raise RecordRejected(raw, f"Notenskala {exam.scale!r} of exam {r.course} is none of {', '.join(SCALES)}", "unknown_grade")
    return Grade(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi,
                 result_id=f"{r.student}-{r.course}-{r.attempt}", course_code=r.course, isced_code=exam.isced,
                 grade_label=grade_label(SCALES[exam.scale], r.grade, raw), grading_scheme_id=SCALES[exam.scale],
                 ects=r.ects, assessed_on=r.assessed_on, attempt=r.attempt, status=STATUS[r.status],
                 academic_year=_term(exam.semester)[0], occurred_at=local_midnight(r.assessed_on, ZONE))


def enrolment(raw: dict[str, str], s: Settings) -> Enrolment:
    r = read(RegistrationRow, _decoded(raw, s.encoding), raw, decimal_separator=",")
    exam, esi = _joined(r, s, raw)
    if r.status not in REGISTRATION:
        raise RecordRejected(raw, f"Status {r.status!r} is none of {', '.join(REGISTRATION)}", "invalid_record")
    year, term = _term(r.semester)
    return Enrolment(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi,
                     course_code=r.course, term_id=f"{year}-{term}", ects=exam.ects, status=REGISTRATION[r.status],
                     occurred_at=r.at)


def student(raw: dict[str, str], s: Settings) -> None:
    raise Skip("student list (read for ESIs)")


def course_isced(exams_file: str) -> dict[str, str]:
    """ISCED-F field of every exam in Pruefungen.csv (the EWP connector puts it on Table B components)."""
    return {code: row["ISCED"] for code, row in _table(Path(exams_file), "cp1252", "Prüfungsnummer") if row.get("ISCED")}


class DeggendorfPrimuss(Connector):
    """Grades and exam registrations from PRIMUSS exports at Deggendorf."""

    hei = HEI
    description = "PRIMUSS CSV exports (grades, registrations, students) from a drop folder"
    settings_class = Settings
    mappings = {"grades": grade, "enrolments": enrolment, "students": student}

    def sources(self, s: Settings) -> list[Joined]:
        exams = FileLookup(lambda: [s.exams_file], lambda p: _table(p, s.encoding, "Prüfungsnummer"),
                           required=[s.exams_file])
        students = FileLookup(lambda: [*s.folder.glob("Studierende_*.csv"), *s.folder.glob("done/Studierende_*.csv")],
                              lambda p: _table(p, s.encoding, "Matrikelnummer"))
        refs: dict[str, Ref] = {"_exam": (lambda r: r["Prüfungsnummer"], exams),
                                "_student": (lambda r: r["Matrikelnummer"], students)}
        # latin-1 maps every byte to one character: rows are decoded one by one in the mappings
        opts: dict[str, Any] = {"encoding": "latin-1", "delimiter": ";", "decimal_separator": ",",
                                "poll_interval": s.poll_interval}
        return [Joined(FileDropSource("grades", s.folder, pattern="Notenexport_*.csv",
                                      identity=("Matrikelnummer", "Prüfungsnummer", "Versuch"), **opts), refs=refs),
                Joined(FileDropSource("enrolments", s.folder, pattern="Anmeldungen_*.csv",
                                      identity=("Matrikelnummer", "Prüfungsnummer", "Semester"), **opts), refs=refs),
                Joined(FileDropSource("students", s.folder, pattern="Studierende_*.csv", identity=("Matrikelnummer",),
                                      **opts))]


# --- helpers --------------------------------------------------------------------------

def _decoded(raw: dict[str, Any], encoding: str) -> dict[str, Any]:
    """The row as ``encoding`` text (the source read it as latin-1, one character per byte)."""
    def text(value: str, field: str) -> str:
        data = value.encode("latin-1")
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise RecordRejected(raw, f"{field}: {value!r} is not {encoding} text (byte 0x{data[exc.start]:02x}); "
                                 "the row was written in another code page", "encoding") from None

    # a joined reference row is not a string: it was read as text already
    return {text(k, k): text(v, k) if isinstance(v, str) else v for k, v in raw.items()}


def _table(path: Path, encoding: str, key: str) -> list[tuple[str, dict[str, str]]]:
    text = path.read_bytes().decode(encoding, "replace")
    return [(row[key], row) for row in csv.DictReader(io.StringIO(text, newline=""), delimiter=";") if row.get(key)]


def _joined(r: GradeRow | RegistrationRow, s: Settings, raw: dict[str, Any]) -> tuple[Exam, str | None]:
    if r.exam is None:
        raise unknown_course(r.course, s.exams_file.name, raw)
    return r.exam, partner_esi(r.person.esi, raw) if r.person else None  # no Studierende row yet: no ESI


def _term(semester: str) -> tuple[str, int]:
    """``WS 2025/26`` → (2025/2026, 1); ``SS 2026`` → (2025/2026, 2)."""
    m = SEMESTER.match(semester)
    assert m is not None  # the models check the pattern
    if m["ws"]:
        return f"{m['ws']}/{int(m['ws']) + 1}", 1
    return f"{int(m['ss']) - 1}/{m['ss']}", 2
