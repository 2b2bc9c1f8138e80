"""Example partner connector: a folder of PRIMUSS-style grade exports (CSV) → ``Grade`` events.

The export is cp1252 text with German headers, ``;`` between fields and a decimal
comma, e.g.::

    Matrikelnummer;Pruefungsnummer;Note;ECTS;Pruefungsdatum;Versuch;Status
    00123456;IF-2101;1,3;5,0;14.07.2025;1;endgültig

Settings come from ``example_csv.toml`` beside this file and ``HUB_TH_DEG_*`` variables.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from connectors.sdk import Connector, ConnectorSettings, LocalDecimal, RecordRejected
from connectors.sources import FileDropSource
from schemas.models import Grade, GradeStatus

HEI = "th-deg.de"
STATUS = {"endgültig": GradeStatus.FINAL, "korrigiert": GradeStatus.CORRECTED, "storniert": GradeStatus.REVOKED}


class Settings(ConnectorSettings):
    folder: Path = Field(description="Drop folder of the PRIMUSS exports (HUB_TH_DEG_FOLDER).")
    encoding: str = "cp1252"
    delimiter: str = ";"
    decimal_separator: str = ","
    grading_scheme_id: str = "th-deg.de/1-5"
    poll_interval: float = 10.0


class ExportRow(BaseModel):
    """One row of the export, as PRIMUSS writes it."""

    student: str = Field(alias="Matrikelnummer", min_length=1)
    course: str = Field(alias="Pruefungsnummer", min_length=1)
    grade: str = Field(alias="Note", min_length=1)
    ects: LocalDecimal = Field(alias="ECTS")
    assessed_on: date = Field(alias="Pruefungsdatum")
    attempt: int = Field(alias="Versuch", ge=1)
    status: str = Field(alias="Status")

    @field_validator("assessed_on", mode="before")
    @classmethod
    def german_date(cls, value: str) -> date:
        day, month, year = value.split(".")  # 14.07.2025 (faster than strptime, same errors for bad input)
        return date(int(year), int(month), int(day))


def grade(r: ExportRow, s: Settings) -> Grade:
    if r.status not in STATUS:
        raise RecordRejected(r, f"unknown status {r.status!r}; expected one of {', '.join(STATUS)}", "unknown_status")
    return Grade(
        source_hei=HEI,
        hei=HEI,
        student_id=r.student,
        result_id=f"{r.student}/{r.course}/{r.attempt}",
        course_code=r.course,
        grade_label=r.grade,
        grading_scheme_id=s.grading_scheme_id,
        ects=r.ects,
        assessed_on=r.assessed_on,
        attempt=r.attempt,
        status=STATUS[r.status],
        occurred_at=datetime(r.assessed_on.year, r.assessed_on.month, r.assessed_on.day, tzinfo=UTC),
    )


class ExampleCsv(Connector):
    """Grades from a CSV drop folder (the shape of a PRIMUSS export at Deggendorf)."""

    hei = HEI
    description = "example: PRIMUSS-style CSV grade exports from a drop folder"
    settings_class = Settings
    mappings = {"grades": grade}

    def sources(self, s: Settings) -> list[FileDropSource]:
        return [FileDropSource("grades", s.folder, pattern="*.csv", encoding=s.encoding, delimiter=s.delimiter,
                               decimal_separator=s.decimal_separator,
                               identity=("Matrikelnummer", "Pruefungsnummer", "Versuch"),
                               poll_interval=s.poll_interval)]
