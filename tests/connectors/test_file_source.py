"""File drop folder: XML exports, unreadable files to rejected/ with a reason, resume mid-file, replaced files."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel, Field

from connectors.sdk import (
    BadRecord,
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


def _big_csv(path, rows: int, bad_row: int | None = None, pad: int = 0) -> None:
    """A PRIMUSS-like cp1252 export of ``rows`` rows; ``bad_row`` gets a byte cp1252 does not define."""
    with path.open("wb") as fh:
        fh.write(b"Matrikelnummer;Pruefungsnummer;Note;Bemerkung\r\n")
        for i in range(1, rows + 1):
            note = ("Pr\xfcfung " + "x" * pad).encode("cp1252") if i != bad_row else b"Pr\x81fung"
            fh.write(f"{i:08d};K{i % 50};1,{i % 10};".encode() + note + b"\r\n")


class ExportRow(BaseModel):
    student: str = Field(alias="Matrikelnummer")
    course: str = Field(alias="Pruefungsnummer")
    mark: str = Field(alias="Note")


def csv_grade(r: ExportRow, s: CsvSettings) -> Grade:
    return Grade(source_hei="th-deg.de", hei="th-deg.de", student_id=r.student, result_id=f"{r.student}/{r.course}",
                 course_code=r.course, grade_label=r.mark, grading_scheme_id="th-deg.de/1-5", ects=Decimal(5),
                 assessed_on=date(2025, 7, 14), status="FINAL", occurred_at=datetime(2025, 7, 14, tzinfo=UTC))


class CsvSettings(ConnectorSettings):
    folder: str


class PrimussExports(Connector):
    hei = "th-deg.de"
    name = "csv_stream_test"
    settings_class = CsvSettings
    mappings = {"grades": csv_grade}

    def sources(self, s: CsvSettings) -> list[FileDropSource]:
        return [FileDropSource("grades", s.folder, encoding="cp1252", delimiter=";", decimal_separator=",",
                               identity=("Matrikelnummer",), poll_interval=0.05)]


def test_an_encoding_error_deep_in_a_large_file_rejects_it_whole_and_names_the_row(tmp_path):
    _big_csv(tmp_path / "01-bad.csv", 8000, bad_row=5000)
    _big_csv(tmp_path / "02-good.csv", 30)
    publisher = MemoryPublisher()
    totals = ConnectorRunner(PrimussExports(folder=str(tmp_path)), publisher,
                             CursorStore(tmp_path / "c.sqlite"), batch_size=500).run(once=True)
    assert totals.published == {"sis.th-deg.de.grades": 30}, "no row of the undecodable file is published"
    assert totals.rejected == {"encoding": 1}
    reason = (tmp_path / "rejected" / "01-bad.csv.reason.txt").read_text()
    assert reason.startswith("not cp1252 text: row 5000 (line 5001), byte 0x81 at offset ")
    assert "declare the export's encoding" in reason
    [letter] = [v for t, _, v in publisher.acked if t == "hub.dlq"]
    assert b"00005000;K0;1,0;Pr\x81fung" in letter, "the dead letter carries the undecodable row itself"
    assert (tmp_path / "done" / "02-good.csv").exists()


_MEASURE = """
import resource, sys
from connectors.sources import FileDropSource
from connectors.sdk import NativeRecord
src = FileDropSource("r", sys.argv[1], pattern=sys.argv[2], encoding=sys.argv[3], delimiter=";",
                     record_xpath=sys.argv[4] or None)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n, last = 0, ""
for item in src.read(None):
    if isinstance(item, NativeRecord):
        n, last = n + 1, item.location
print(n, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024, last)
"""


def _read_in_a_process(folder, pattern: str, encoding: str, record_xpath: str = "") -> tuple[int, int, str]:
    """(records, growth of the peak resident memory in bytes, last location) of a fresh process reading ``folder``."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(folder), pattern, encoding, record_xpath],
                         capture_output=True, text=True, timeout=120, check=True).stdout.split(maxsplit=2)
    return int(out[0]), int(out[1]), out[2].strip()


def test_a_large_csv_file_is_streamed_not_loaded_whole(tmp_path):
    _big_csv(tmp_path / "big.csv", 40_000, pad=300)  # about 13 MB
    size = (tmp_path / "big.csv").stat().st_size
    n, growth, last = _read_in_a_process(tmp_path, "*.csv", "cp1252")
    assert n == 40_000 and last == "big.csv row 40000 (line 40001)"
    assert size > 12_000_000 and growth < size / 4, f"memory grew by {growth} bytes reading a {size}-byte file"


def test_large_xml_exports_are_streamed_and_a_file_broken_at_its_end_is_rejected_whole(tmp_path):
    results = [(f"s{i}", f"C{i % 7}", "A", "6,0") for i in range(40_000)]
    big = _xml(results).replace(b"</results>", b"<note>" + b"y" * 100 + b"</note></results>")
    (tmp_path / "01-big.xml").write_bytes(big)
    (tmp_path / "02-cut.xml").write_bytes(_xml(results[:500])[:-30])  # cut off: the last tags are missing
    src = UisExports(folder=str(tmp_path)).sources(UisExports.load_settings(folder=str(tmp_path)))[0]
    got = []
    for item in src.read(None):
        if isinstance(item, NativeRecord):
            if len(got) < 3 or item.identity == "s39999|C1":
                got.append((item.identity, item.payload, item.location))
        else:
            got.append(type(item).__name__)
    assert got[0][0] == "s0|C0" and got[0][2] == "01-big.xml record 1 (line 1)"
    assert got[0][1] == _xml([results[0]]).split(b"<results>")[1].split(b"</results>")[0]
    assert got[3][0] == "s39999|C1" and got[4:] == ["Checkpoint", "BadRecord", "Checkpoint"]
    (tmp_path / "02-cut.xml").unlink()
    n, growth, _ = _read_in_a_process(tmp_path, "*.xml", "iso-8859-2", "//result")
    assert n == 40_000 and growth < len(big) / 2, f"memory grew by {growth} bytes reading a {len(big)}-byte file"


def test_an_xml_record_path_or_any_xpath_selects_the_same_records(tmp_path):
    (tmp_path / "a.xml").write_bytes(_xml([("s1", "X1", "A", "6,0"), ("s2", "X2", "B", "3,0")]))

    def ids(xpath: str) -> list[tuple[str, bytes]]:
        src = FileDropSource("r", tmp_path, pattern="*.xml", record_xpath=xpath, identity=("@student",))
        return [(i.identity, i.payload) for i in src.read(None) if isinstance(i, NativeRecord)]

    streamed = ids("//result")
    assert [i for i, _ in streamed] == ["s1", "s2"]
    assert ids("results/result") == ids("/export/results/result") == ids("//result[@student]") == streamed


def test_utf8_with_a_byte_order_mark_and_characters_across_read_chunks(tmp_path):
    row = "1;ä\n".encode()
    good = "\ufeffMatrikelnummer;Note\n".encode() + row * (1_200_000 // len(row))  # past the first 1 MiB chunk
    (tmp_path / "a.csv").write_bytes(good)
    (tmp_path / "b.csv").write_bytes(good + b"2;\xff\n")
    src = FileDropSource("grades", tmp_path, delimiter=";")
    items = list(src.read(None))
    records = [i for i in items if isinstance(i, NativeRecord)]
    assert len(records) == 1_200_000 // len(row) and records[0].data == {"Matrikelnummer": "1", "Note": "ä"}
    [bad] = [i for i in items if isinstance(i, BadRecord)]
    assert bad.reason == (f"b.csv: not utf-8 text: row {len(records) + 1} (line {len(records) + 2}), byte 0xff at "
                          f"offset {len(good) + 2}; declare the export's encoding in the settings (e.g. cp1252)")
    assert bad.payload == b"2;\xff\n" and bad.cursor["rejected"]
