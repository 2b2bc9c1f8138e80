"""The partner helpers on their own: lookups read on, values remembered across restarts, rows decoded one by one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.partners._common import (
    ApiSettings,
    Joined,
    Remembered,
    SourceLookup,
    decode_rows,
    one_of,
)
from connectors.sdk import BadRecord, NativeRecord, RecordRejected, Source


class Rows(Source):
    """A source over a list that grows; the cursor counts the rows consumed."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__("rows")
        self.rows, self.reads = rows, 0

    def read(self, cursor: Any):  # type: ignore[no-untyped-def]
        self.reads += 1
        for n, row in enumerate(self.rows[cursor or 0:], start=(cursor or 0) + 1):
            yield NativeRecord(row, b"", str(row["id"]), f"row {n}", n)


def test_a_source_lookup_reads_on_from_where_it_stopped_for_a_missing_key() -> None:
    rows = [{"id": 1, "code": "A"}]
    source = Rows(rows)
    lookup = SourceLookup(source, "code")
    assert lookup.get("A") == {"id": 1, "code": "A"} and source.reads == 1
    assert lookup.get("A") is not None and source.reads == 1  # a known key reads nothing
    rows.append({"id": 2, "code": "B"})
    assert lookup.get("B") == {"id": 2, "code": "B"} and source.reads == 2


def test_joined_adds_reference_rows_by_field_path_and_keeps_identity_across_redeliveries(tmp_path: Path) -> None:
    courses = SourceLookup(Rows([{"id": 1, "code": "C1", "ects": 5}]), "code")
    records = Rows([{"id": 7, "course": {"code": "C1"}, "sent_at": "t1"}, {"id": 7, "course": {"code": "C9"},
                                                                            "sent_at": "t2"}])
    first, second = Joined(records, refs={"_course": ("course.code", courses)}, identity=lambda r: str(r["id"]),
                           delivery_fields=("sent_at", "course")).read(None)
    assert first.data["_course"] == {"id": 1, "code": "C1", "ects": 5} and second.data["_course"] is None
    assert first.identity == second.identity == "7" and first.payload == second.payload


def test_remembered_values_survive_a_restart(tmp_path: Path) -> None:
    kept = Remembered(tmp_path / "kept.sqlite")
    learn = kept.learn("uid", "esi")
    learn(NativeRecord({"uid": "s1", "esi": "urn:x"}, b"", "1", "entry 1"))
    kept.close()
    assert Remembered(tmp_path / "kept.sqlite").get("s1") == "urn:x"


def test_a_row_in_another_code_page_is_a_bad_record_naming_the_byte() -> None:
    decode = decode_rows("cp1252")
    good = decode(NativeRecord({"Note": "endg\xfcltig"}, b"", "1", "row 1"))
    bad = decode(NativeRecord({"Note": "\x81"}, b"\x81", "2", "row 2", {"file": 1}))
    assert isinstance(good, NativeRecord) and good.data == {"Note": "endgültig"}
    assert isinstance(bad, BadRecord) and bad.error_kind == "encoding" and "byte 0x81" in bad.reason
    assert bad.cursor == {"file": 1} and bad.payload == b"\x81"


def test_one_of_names_the_values_it_knows_and_base_urls_lose_their_trailing_slash() -> None:
    assert one_of({"A": 1}, "A", "Status", None) == 1
    with pytest.raises(RecordRejected, match="Status 'B' is none of A") as exc:
        one_of({"A": 1}, "B", "Status", None, "unknown_scheme")
    assert exc.value.kind == "unknown_scheme"
    assert ApiSettings(api_url="https://sis.example.org/api/").api_url == "https://sis.example.org/api"
