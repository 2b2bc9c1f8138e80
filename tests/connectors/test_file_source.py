"""File drop folder: XML exports, unreadable files to rejected/ with a reason, resume mid-file, replaced files."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel, Field

from connectors.sdk import (
    ConfigError,
    Connector,
    ConnectorRunner,
    ConnectorSettings,
    CursorStore,
    LocalDecimal,
    MemoryPublisher,
    NativeRecord,
)
from connectors.sources import FileDropSource
from schemas.models import Grade


class Settings(ConnectorSettings):
    folder: str


class UisResult(BaseModel):
    student: str = Field(alias="@student")
    course: str
    mark: str
    credits: LocalDecimal
    day: date


def grade(r: UisResult, s: Settings) -> Grade:
    return Grade(source_hei="mendelu.cz", hei="mendelu.cz", student_id=r.student, result_id=f"{r.student}/{r.course}",
                 course_code=r.course, grade_label=r.mark, grading_scheme_id="mendelu.cz:A-F", ects=r.credits,
                 assessed_on=r.day, status="FINAL", occurred_at=datetime(2025, 6, 30, tzinfo=UTC))


class UisExports(Connector):
    hei = "mendelu.cz"
    name = "xml_test"
    settings_class = Settings
    mappings = {"results": grade}

    def sources(self, s: Settings) -> list[FileDropSource]:
        return [FileDropSource("results", s.folder, pattern="*.xml", encoding="iso-8859-2", record_xpath="//result",
                               decimal_separator=",", identity=("@student", "course"), poll_interval=0.05)]


def _xml(results: list[tuple[str, str, str, str]], declare: bool = True) -> bytes:
    head = '<?xml version="1.0" encoding="iso-8859-2"?>' if declare else ""
    body = "".join(f'<result student="{s}"><course>{c}</course><mark>{m}</mark><credits>{e}</credits>'
                   f"<day>2025-06-30</day></result>" for s, c, m, e in results)
    return f"{head}<export><title>Výsledky</title><results>{body}</results></export>".encode("iso-8859-2")


def test_xml_exports_good_bad_and_malformed(tmp_path):
    (tmp_path / "01-good.xml").write_bytes(_xml([("s1", "EBC-ZE", "A", "6,0"), ("s2", "EBC-ZE", "Z", "four")]))
    (tmp_path / "02-broken.xml").write_bytes(b"<export><result student='s3'><course>X</course></export>")
    (tmp_path / "03-undeclared.xml").write_bytes(_xml([("s4", "EBC-MA", "C", "4,5")], declare=False))
    publisher = MemoryPublisher()
    totals = ConnectorRunner(UisExports(folder=str(tmp_path)), publisher, CursorStore(tmp_path / "c.sqlite")).run(once=True)
    assert totals.published == {"sis.mendelu.cz.grades": 2}
    assert totals.rejected == {"invalid_record": 1, "parse": 1}
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["01-good.xml", "03-undeclared.xml"]
    reason = (tmp_path / "rejected" / "02-broken.xml.reason.txt").read_text()
    assert reason.startswith("not well-formed XML")
    letters = [v for t, _, v in publisher.acked if t == "hub.dlq"]
    assert len(letters) == 2


def test_resume_mid_file_and_a_replaced_file_is_read_from_its_start(tmp_path):
    rows = "\n".join(["Matrikelnummer;Pruefungsnummer;Note"] + [f"{i};K{i};1,{i}" for i in range(6)])
    path = tmp_path / "a.csv"
    path.write_text(rows, encoding="utf-8")
    src = FileDropSource("grades", tmp_path, delimiter=";", identity=("Matrikelnummer",))
    items = [i for i in src.read(None) if isinstance(i, NativeRecord)]
    assert [i.data["Matrikelnummer"] for i in items] == [str(i) for i in range(6)]
    cursor = items[2].cursor
    rest = [i.data["Matrikelnummer"] for i in src.read(cursor) if isinstance(i, NativeRecord)]
    assert rest == ["3", "4", "5"]
    assert items[3].payload == b"3;K3;1,3\n" and items[3].location == "a.csv row 4 (line 5)"
    path.write_text(rows + "\n6;K6;1,6\n", encoding="utf-8")  # a new export under the same name
    os.utime(path, ns=(cursor["mtime_ns"] + 10**9, cursor["mtime_ns"] + 10**9))
    again = [i.data["Matrikelnummer"] for i in src.read(cursor) if isinstance(i, NativeRecord)]
    assert again == [str(i) for i in range(7)]


def test_decimal_comma_reads_into_decimal():
    class Row(BaseModel):
        ects: LocalDecimal

    assert Row.model_validate({"ects": "1.234,50"}, context={"decimal_separator": ","}).ects == Decimal("1234.50")
    assert Row.model_validate({"ects": "7.5"}).ects == Decimal("7.5")
    with pytest.raises(ValueError, match="not a number"):
        Row.model_validate({"ects": "7,5x"}, context={"decimal_separator": ","})


def test_source_options_are_checked_together(tmp_path):
    with pytest.raises(ConfigError) as info:
        FileDropSource("grades", tmp_path, encoding="klingon", delimiter="", decimal_separator=";")
    assert len(info.value.problems) == 3
