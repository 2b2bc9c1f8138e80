"""Deggendorf (th-deg.de): PRIMUSS CSV exports in a drop folder → ``Grade`` and ``Enrolment`` events.

``Notenexport_*.csv`` (grades), ``Anmeldungen_*.csv`` (registrations), ``Studierende_*.csv`` (ESIs), ``Pruefungen.csv``
(exams): cp1252, ``;``, decimal comma, German dates and Berlin times. Rows are decoded one by one: a row in another
code page is one dead letter, not a lost file.
"""

from functools import partial
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, AliasPath, BaseModel, Field

from connectors.partners._common import (DropSettings, FileLookup, GermanDate, Joined, csv_drop, csv_rows, grade_label,
                                         isced_reader, listed, local_midnight, local_time, one_of, partner_esi,
                                         reference_only)
from connectors.sdk import Connector, LocalDecimal
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI, ZONE = "th-deg.de", "Europe/Berlin"
STATUS = {"endgültig": GradeStatus.FINAL, "korrigiert": GradeStatus.CORRECTED,
          "annulliert": GradeStatus.REVOKED, "storniert": GradeStatus.REVOKED}
REGISTRATION = {"angemeldet": EnrolmentStatus.REGISTERED, "abgemeldet": EnrolmentStatus.WITHDRAWN}
SCALES = {"1,0-5,0": "th-deg.de/1-5", "mit/ohne Erfolg": "th-deg.de/pass-fail"}
PRUEFUNGEN = partial(csv_rows, key="Prüfungsnummer", encoding="cp1252")  # the exam catalogue's rows


def term_id(semester: str) -> str:
    """``WS 2025/26`` → ``2025/2026-1``; ``SS 2026`` → ``2025/2026-2``."""
    year = int(semester[3:7]) - (semester[0] == "S")
    return f"{year}/{year + 1}-{1 if semester[0] == 'W' else 2}"


Semester = Annotated[str, Field(pattern=r"^(WS \d{4}/\d{2}|SS \d{4})$"), AfterValidator(term_id)]


class Settings(DropSettings):  # folder: the drop folder (HUB_TH_DEG_FOLDER)
    exams_file: Path = Field(description="The exam catalogue Pruefungen.csv (HUB_TH_DEG_EXAMS_FILE).")
    encoding: str = "cp1252"


class Row(BaseModel):  # what both exports share, with the exam's catalogue row and the student's ESI looked up
    student: str = Field(alias="Matrikelnummer", min_length=1)
    course: str = Field(alias="Prüfungsnummer", min_length=1)
    status: str = Field(alias="Status")
    scale: str | None = Field(None, validation_alias=AliasPath("_exam", "Notenskala"))  # None: not in the catalogue
    exam_ects: LocalDecimal | None = Field(None, validation_alias=AliasPath("_exam", "ECTS"))
    isced: str | None = Field(None, validation_alias=AliasPath("_exam", "ISCED"))
    exam_term: Semester | None = Field(None, validation_alias=AliasPath("_exam", "Semester"))
    esi: str | None = Field(None, validation_alias=AliasPath("_student", "ESI"))  # no Studierende row yet: no ESI


class GradeRow(Row):
    grade: str = Field(alias="Note", min_length=1)
    ects: LocalDecimal = Field(alias="ECTS")
    assessed_on: GermanDate = Field(alias="Prüfungsdatum")
    attempt: int = Field(alias="Versuch", ge=1)


class RegistrationRow(Row):
    term: Semester = Field(alias="Semester")
    at: local_time("%d.%m.%Y %H:%M:%S", ZONE) = Field(alias="Zeitstempel")  # type: ignore[valid-type]


def grade(r: GradeRow, s: Settings) -> Grade:
    scale, esi = listed(r.scale, r.course, s.exams_file.name, r), partner_esi(r.esi, r)
    scheme_id = one_of(SCALES, scale, f"Notenskala of exam {r.course}", r, "unknown_grade")
    return Grade(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi, course_code=r.course, ects=r.ects,
                 result_id=f"{r.student}-{r.course}-{r.attempt}", isced_code=r.isced, grading_scheme_id=scheme_id,
                 grade_label=grade_label(scheme_id, r.grade, r), assessed_on=r.assessed_on, attempt=r.attempt,
                 status=one_of(STATUS, r.status, "Status", r), academic_year=str(r.exam_term).rsplit("-", 1)[0],
                 occurred_at=local_midnight(r.assessed_on, ZONE))


def enrolment(r: RegistrationRow, s: Settings) -> Enrolment:
    ects, esi = listed(r.exam_ects, r.course, s.exams_file.name, r), partner_esi(r.esi, r)
    return Enrolment(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi, course_code=r.course,
                     term_id=r.term, ects=ects, status=one_of(REGISTRATION, r.status, "Status", r), occurred_at=r.at)


course_isced = isced_reader(lambda file: FileLookup(lambda: [Path(file)], PRUEFUNGEN), "Prüfungsnummer", "ISCED")


class DeggendorfPrimuss(Connector):
    description = "PRIMUSS CSV exports (grades, registrations, students) from a drop folder"
    hei, settings_class, mappings = HEI, Settings, {"grades": grade, "enrolments": enrolment, "students": reference_only}

    def sources(self, s: Settings) -> list[Joined]:
        exams = FileLookup(lambda: [s.exams_file], partial(PRUEFUNGEN, encoding=s.encoding), required=[s.exams_file])
        students = FileLookup(lambda: [*s.folder.glob("Studierende_*.csv"), *s.folder.glob("done/Studierende_*.csv")],
                              partial(csv_rows, key="Matrikelnummer", encoding=s.encoding))
        refs = {"_exam": ("Prüfungsnummer", exams), "_student": ("Matrikelnummer", students)}

        def export(name: str, pattern: str, *identity: str, joined: bool = True) -> Joined:
            return csv_drop(name, s.folder, pattern, ("Matrikelnummer", *identity), s.encoding, refs=refs if joined
                            else None, delimiter=";", decimal_separator=",", poll_interval=s.poll_interval)
        return [export("grades", "Notenexport_*.csv", "Prüfungsnummer", "Versuch"),
                export("enrolments", "Anmeldungen_*.csv", "Prüfungsnummer", "Semester"),
                export("students", "Studierende_*.csv", joined=False)]
