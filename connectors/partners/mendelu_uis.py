"""MENDELU (mendelu.cz): UIS XML export files in a drop folder → ``Enrolment`` and ``Grade`` events.

Each night's ``uis-export-<YYYYMMDD-HHMM>.xml`` holds the day's changes in order, as attributes of ``student``
(UČO, ESI), ``zapis`` (a registration) and ``hodnoceni`` (a result; ``verze`` counts versions of one ``id``):
``<hodnoceni id="1035732" verze="1" uco="200492" predmet="EBC-ACC3" znamka="Z" pokus="1" datum="2026-01-08" ...>``.
``predmety.xml`` lists the courses (credits, ISCED, scale A-F or Z-N). A file that is not well-formed is one dead letter.
"""

from datetime import date, datetime
from functools import partial
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from connectors.partners._common import (DropSettings, FileLookup, Joined, course_and_esi, grade_label, isced_reader,
                                         one_of, read, xml_elements)
from connectors.sdk import Connector, RecordRejected, Skip
from connectors.sources import FileDropSource
from schemas.models import Enrolment, EnrolmentStatus, Grade, GradeStatus

HEI = "mendelu.cz"
STATUS = {"platne": GradeStatus.FINAL, "opraveno": GradeStatus.CORRECTED, "zruseno": GradeStatus.REVOKED}
REGISTRATION = {"zapsano": EnrolmentStatus.REGISTERED, "zruseno": EnrolmentStatus.WITHDRAWN}
TERM = r"^(ZS|LS) \d{4}/\d{4}$"  # zimní / letní semestr: ZS 2025/2026 is 2025/2026-1
PREDMETY = partial(xml_elements, tag="predmet", key="kod")  # the course list's rows


class Settings(DropSettings):  # folder: the drop folder of the exports (HUB_MENDELU_FOLDER)
    courses_file: Path = Field(description="The UIS course list predmety.xml (HUB_MENDELU_COURSES_FILE).")


class Course(BaseModel):  # a predmet of predmety.xml
    ects: Decimal = Field(alias="kredity")
    isced: str
    scale: str = Field(alias="stupnice")
    term: str = Field(alias="obdobi", pattern=TERM)


class Element(BaseModel):  # what zapis and hodnoceni share, with the course and student element looked up
    id: str = Field(alias="@id", min_length=1)
    student: str = Field(alias="@uco", min_length=1)
    course: str = Field(alias="@predmet", min_length=1)
    status: str = Field(alias="@stav")
    changed: datetime = Field(alias="@zmeneno")
    subject: Course | None = Field(None, alias="_course")
    person: dict[str, str] | None = Field(None, alias="_student")  # its student element, from any export


class Zapis(Element):
    term: str = Field(alias="@obdobi", pattern=TERM)


class Hodnoceni(Element):
    grade: str = Field(alias="@znamka", min_length=1)
    attempt: int = Field(alias="@pokus", ge=1)
    assessed_on: date = Field(alias="@datum")


def record(raw: dict[str, Any], s: Settings) -> Grade | Enrolment:
    if "@znamka" in raw or "@pokus" in raw:
        r = read(Hodnoceni, raw, raw)
        course, esi = course_and_esi(r, r.subject, s.courses_file.name, r.person)
        scheme_id = f"mendelu.cz/{course.scale}"  # A-F, Z-N
        return Grade(source_hei=HEI, hei=HEI, student_id=r.student, student_esi=esi, result_id=r.id,
                     course_code=r.course, isced_code=course.isced, grade_label=grade_label(scheme_id, r.grade, raw),
                     grading_scheme_id=scheme_id, ects=course.ects, assessed_on=r.assessed_on, attempt=r.attempt,
                     status=one_of(STATUS, r.status, "stav", raw), academic_year=course.term[3:], occurred_at=r.changed)
    if "@predmet" in raw:
        z = read(Zapis, raw, raw)
        course, esi = course_and_esi(z, z.subject, s.courses_file.name, z.person)
        return Enrolment(source_hei=HEI, hei=HEI, student_id=z.student, student_esi=esi, course_code=z.course,
                         term_id=f"{z.term[3:]}-{1 if z.term.startswith('ZS') else 2}", ects=course.ects,
                         status=one_of(REGISTRATION, z.status, "stav", raw), occurred_at=z.changed)
    if "@esi" in raw:
        raise Skip("student (read for ESIs)")
    raise RecordRejected(raw, f"an export element with attributes {sorted(raw)} is neither student, zapis nor hodnoceni",
                         "invalid_record")


course_isced = isced_reader(lambda file: FileLookup(lambda: [Path(file)], PREDMETY), "kod", "isced")


class MendeluUis(Connector):
    description = "UIS XML exports (students, registrations, results) from a drop folder"
    hei, settings_class, mappings = HEI, Settings, {"exports": record}

    def sources(self, s: Settings) -> list[Joined]:
        courses = FileLookup(lambda: [s.courses_file], PREDMETY, required=[s.courses_file])
        students = FileLookup(lambda: [*s.folder.glob("uis-export-*.xml"), *s.folder.glob("done/uis-export-*.xml")],
                              lambda p: xml_elements(p, "student", "uco"))
        exports = FileDropSource("exports", s.folder, pattern="uis-export-*.xml", identity=("@id", "@uco"),
                                 poll_interval=s.poll_interval)
        return [Joined(exports, refs={"_course": ("@predmet", courses), "_student": ("@uco", students)})]
