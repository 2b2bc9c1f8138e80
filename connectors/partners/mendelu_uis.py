"""MENDELU (mendelu.cz): UIS XML export files in a drop folder → ``Enrolment`` and ``Grade`` events.

UIS writes one export per night, ``uis-export-<YYYYMMDD-HHMM>.xml``, holding the day's
changes in order: ``student`` (UČO and ESI), ``zapis`` (course registration) and
``hodnoceni`` (a result; ``verze`` counts versions of one ``id``)::

    <uis-export xmlns="https://is.mendelu.cz/xml/uis-export/1" instituce="mendelu.cz" vytvoreno="...">
      <zapis id="1000123" uco="200492" predmet="EBC-ACC3" obdobi="ZS 2025/2026" stav="zapsano" zmeneno="..."/>
      <hodnoceni id="1035732" verze="1" uco="200492" predmet="EBC-ACC3" znamka="Z" pokus="1"
                 datum="2026-01-08" stav="platne" zmeneno="2026-01-12T15:50:08+01:00"/>

``predmety.xml`` is the course list (credits, ISCED, scale A-F or Z-N, term). A file that
is not well-formed XML (cut off, or not the UTF-8 it declares) is dead-lettered whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree
from pydantic import BaseModel, Field

from connectors.partners._common import (
    FileLookup,
    Joined,
    grade_label,
    partner_esi,
    read,
    unknown_course,
)
from connectors.sdk import Connector, ConnectorSettings, RecordRejected, Skip
from connectors.sources import FileDropSource
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "mendelu.cz"
STATUS = {"platne": GradeStatus.FINAL, "opraveno": GradeStatus.CORRECTED, "zruseno": GradeStatus.REVOKED}
REGISTRATION = {"zapsano": EnrolmentStatus.REGISTERED, "zruseno": EnrolmentStatus.WITHDRAWN}
SCALES = {"A-F": "mendelu.cz/A-F", "Z-N": "mendelu.cz/Z-N"}
TERM = re.compile(r"^(?P<half>ZS|LS) (?P<year>\d{4}/\d{4})$")  # zimní / letní semestr


class Settings(ConnectorSettings):
    folder: Path = Field(description="Drop folder of the UIS exports (HUB_MENDELU_FOLDER).")
    courses_file: Path = Field(description="The UIS course list predmety.xml (HUB_MENDELU_COURSES_FILE).")
    poll_interval: float = 10.0


class Course(BaseModel):
    """A ``predmet`` of predmety.xml."""

    ects: Decimal = Field(alias="kredity")
    isced: str
    scale: str = Field(alias="stupnice")
    term: str = Field(alias="obdobi", pattern=TERM.pattern)


class Student(BaseModel):
    """A ``student`` of an export (any export: the one that introduced the student may be in done/)."""

    esi: str | None = None


class Joins(BaseModel):
    """The reference rows the source joined to an element (None: not in predmety.xml / no student element)."""

    subject: Course | None = Field(None, alias="_course")
    person: Student | None = Field(None, alias="_student")


class Zapis(Joins):
    id: str = Field(alias="@id", min_length=1)
    student: str = Field(alias="@uco", min_length=1)
    course: str = Field(alias="@predmet", min_length=1)
    term: str = Field(alias="@obdobi", pattern=TERM.pattern)
    status: str = Field(alias="@stav")
    changed: datetime = Field(alias="@zmeneno")


class Hodnoceni(Joins):
    id: str = Field(alias="@id", min_length=1)
    student: str = Field(alias="@uco", min_length=1)
    course: str = Field(alias="@predmet", min_length=1)
    grade: str = Field(alias="@znamka", min_length=1)
    attempt: int = Field(alias="@pokus", ge=1)
    assessed_on: date = Field(alias="@datum")
    status: str = Field(alias="@stav")
    changed: datetime = Field(alias="@zmeneno")


def record(raw: dict[str, Any], s: Settings) -> Grade | Enrolment:
    """One export element: a result, a registration, or a student (read for ESIs only)."""
    if "@znamka" in raw or "@pokus" in raw:
        return grade(read(Hodnoceni, raw), s, raw)
    if "@predmet" in raw:
        return enrolment(read(Zapis, raw), s, raw)
    if "@esi" in raw:
        raise Skip("student (read for ESIs)")
    raise RecordRejected(raw, f"an export element with attributes {sorted(raw)} is neither student, zapis nor hodnoceni",
                         "invalid_record")


def grade(r: Hodnoceni, s: Settings, raw: dict[str, Any]) -> Grade:
    course, esi = _joined(r, s, raw)
    if r.status not in STATUS:
        raise RecordRejected(raw, f"stav {r.status!r} is none of {', '.join(STATUS)}", "invalid_record")
    scheme_id = SCALES.get(course.scale, f"mendelu.cz/{course.scale}")
    return Grade(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi, result_id=r.id,
                 course_code=r.course, isced_code=course.isced, grade_label=grade_label(scheme_id, r.grade, raw),
                 grading_scheme_id=scheme_id, ects=course.ects, assessed_on=r.assessed_on, attempt=r.attempt,
                 status=STATUS[r.status], academic_year=_term(course.term)[0], occurred_at=r.changed)


def enrolment(r: Zapis, s: Settings, raw: dict[str, Any]) -> Enrolment:
    course, esi = _joined(r, s, raw)
    if r.status not in REGISTRATION:
        raise RecordRejected(raw, f"stav {r.status!r} is none of {', '.join(REGISTRATION)}", "invalid_record")
    year, term = _term(r.term)
    return Enrolment(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi,
                     course_code=r.course, term_id=f"{year}-{term}", ects=course.ects,
                     status=REGISTRATION[r.status], occurred_at=r.changed)


def course_isced(courses_file: str) -> dict[str, str]:
    """ISCED-F field of every course in predmety.xml (the EWP connector puts it on Table B components)."""
    return {code: a["isced"] for code, a in _elements(Path(courses_file), "predmet", "kod") if a.get("isced")}


class MendeluUis(Connector):
    """Registrations and results from MENDELU's nightly UIS exports."""

    hei = HEI
    description = "UIS XML exports (students, registrations, results) from a drop folder"
    settings_class = Settings
    mappings = {"exports": record}

    def sources(self, s: Settings) -> list[Joined]:
        courses = FileLookup(lambda: [s.courses_file], lambda p: _elements(p, "predmet", "kod"), required=[s.courses_file])
        students = FileLookup(lambda: [*s.folder.glob("uis-export-*.xml"), *s.folder.glob("done/uis-export-*.xml")],
                              lambda p: _elements(p, "student", "uco"))
        exports = FileDropSource("exports", s.folder, pattern="uis-export-*.xml", identity=("@id", "@uco"),
                                 poll_interval=s.poll_interval)
        return [Joined(exports, refs={"_course": (lambda r: r["@predmet"], courses),
                                      "_student": (lambda r: r["@uco"], students)})]


# --- helpers --------------------------------------------------------------------------

def _elements(path: Path, tag: str, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(key attribute, attributes)`` of every ``tag`` element; a file that does not parse gives none."""
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except (etree.XMLSyntaxError, OSError):
        return
    for el in root.iter(f"{{*}}{tag}"):
        if el.get(key):
            yield el.get(key), dict(el.attrib)


def _joined(r: Zapis | Hodnoceni, s: Settings, raw: dict[str, Any]) -> tuple[Course, str | None]:
    if r.subject is None:
        raise unknown_course(r.course, s.courses_file.name, raw)
    return r.subject, partner_esi(r.person.esi, raw) if r.person else None  # no student element seen: no ESI


def _term(obdobi: str) -> tuple[str, int]:
    """``ZS 2025/2026`` → (2025/2026, 1); ``LS 2025/2026`` → (2025/2026, 2)."""
    m = TERM.match(obdobi)
    assert m is not None  # the models check the pattern
    return m["year"], 1 if m["half"] == "ZS" else 2
