"""Grading tables: the shipped defaults, validation of table files, and lookup with fallback."""

from __future__ import annotations

import pytest

from schemas.grading import SCHEMES
from schemas.models import TableSource
from streams.recognition import TableError, default_tables, load_tables
from streams.recognition.tables import ects_scale_table

HEADER = "hei,scheme_id,reference_group,academic_year,label,percentage\n"
GRADED = sorted(s.id for s in SCHEMES.values() if not s.pass_fail_only)


@pytest.mark.parametrize("scheme_id", GRADED)
@pytest.mark.parametrize("year", ["2024/2025", "2025/2026"])
def test_defaults_have_an_institution_table_per_graded_scheme_and_year(scheme_id, year):
    table = default_tables().lookup(scheme_id, None, year)
    assert table.ref.source is TableSource.INSTITUTION
    assert (table.ref.reference_group, table.ref.academic_year) == ("*", year)
    assert [label for label, _ in table.shares] == list(SCHEMES[scheme_id].passing_labels)
    assert sum(share for _, share in table.shares) == pytest.approx(100)
    assert table.bands[0].lower == 0 and table.bands[-1].upper == 100


def test_worked_example_tables_have_the_documented_percentages():
    tm = default_tables().lookup("thomasmore.be/0-20", "0613", "2025/2026")
    fo = default_tables().lookup("fontys.nl/1-10", "0613", "2025/2026")
    assert tm.ref.source is fo.ref.source is TableSource.FIELD
    shares = dict(tm.shares)
    assert [shares[str(g)] for g in range(10, 18)] == [8, 12, 17, 20, 18, 12, 8, 4]
    assert shares["18"] + shares["19"] + shares["20"] == pytest.approx(1)
    assert dict(fo.shares) == {"10": 2, "9": 10, "8": 33, "7": 40, "6": 15}
    # bands counted from the best grade: 15 covers 13-25, home 8 covers 12-45
    assert (tm.band("15").lower, tm.band("15").upper) == (13, 25)
    assert (fo.band("8").lower, fo.band("8").upper) == (12, 45)


@pytest.mark.parametrize(
    ("scheme_id", "field", "year", "source", "group", "found_year"),
    [
        ("thomasmore.be/0-20", "0613", "2025/2026", TableSource.FIELD, "0613", "2025/2026"),
        ("thomasmore.be/0-20", "0613", "2027/2028", TableSource.FIELD, "0613", "2025/2026"),  # latest earlier year
        ("thomasmore.be/0-20", "0613", "2020/2021", TableSource.FIELD, "0613", "2025/2026"),  # none earlier: latest
        ("thomasmore.be/0-20", "0714", "2024/2025", TableSource.INSTITUTION, "*", "2024/2025"),  # no field table
        ("thomasmore.be/0-20", None, "2026/2027", TableSource.INSTITUTION, "*", "2025/2026"),
        ("thomasmore.be/0-20", None, None, TableSource.INSTITUTION, "*", "2025/2026"),  # no year: latest
        ("mendelu.cz/A-F", "0811", "2024/2025", TableSource.FIELD, "081", "2024/2025"),  # narrow field of 0811
        ("mendelu.cz/A-F", "0811", "2025/2026", TableSource.FIELD, "081", "2024/2025"),
        ("ipbeja.pt/0-20", "0613", "2019/2020", TableSource.INSTITUTION, "*", "2025/2026"),
    ],
)
def test_lookup_falls_back_field_then_institution_and_year(scheme_id, field, year, source, group, found_year):
    ref = default_tables().lookup(scheme_id, field, year).ref
    assert (ref.source, ref.reference_group, ref.academic_year) == (source, group, found_year)


def test_no_table_falls_back_to_the_ects_scale(tmp_path):
    (tmp_path / "one.csv").write_text(HEADER + "fontys.nl,fontys.nl/1-10,*,2025/2026,6,100\n")
    tables = load_tables(tmp_path)
    table = tables.lookup("ucn.dk/7-point", "0613", "2025/2026")
    assert table.ref.source is TableSource.ECTS_SCALE
    assert [round(s, 6) for _, s in table.shares] == [10, 25, 30, 25, 10]


@pytest.mark.parametrize(
    ("scheme_id", "expected"),
    [
        ("hh.se/U-G-VG", [50, 50]),
        ("hh.se/U-3-4-5", [26.666667, 46.666667, 26.666667]),
        ("hh.se/A-F", [10, 25, 30, 25, 10]),
        ("viko.lt/1-10", [8.333333, 18.333333, 23.333333, 23.333333, 18.333333, 8.333333]),
    ],
)
def test_ects_scale_spreads_evenly_over_the_passing_labels(scheme_id, expected):
    shares = [round(s, 6) for _, s in ects_scale_table(scheme_id).shares]
    assert sum(shares) == pytest.approx(100, abs=1e-4)
    assert shares == pytest.approx(expected, abs=1e-4)
    assert shares == shares[::-1]  # symmetric, like the ECTS scale


def test_ects_scale_over_eleven_labels_is_monotone_to_the_middle():
    shares = [s for _, s in ects_scale_table("thomasmore.be/0-20").shares]
    assert len(shares) == 11 and sum(shares) == pytest.approx(100)
    assert shares[:6] == sorted(shares[:6])


def test_shares_off_by_less_than_half_a_point_are_rescaled(tmp_path):
    (tmp_path / "t.csv").write_text(HEADER + "hh.se,hh.se/U-G-VG,*,2025/2026,VG,30.2\nhh.se,hh.se/U-G-VG,*,2025/2026,G,70\n")
    table = load_tables(tmp_path).lookup("hh.se/U-G-VG")
    assert sum(s for _, s in table.shares) == pytest.approx(100)
    assert table.bands[-1].upper == 100


def test_validation_reports_every_problem_with_file_and_line(tmp_path):
    (tmp_path / "a.csv").write_text(
        HEADER
        + "ucn.dk,ucn.dk/7-point,*,2025/2026,12,20\n"  # 2
        + "ucn.dk,ucn.dk/7-point,*,2025/2026,2,30\n"  # 3 "2" is not a label
        + "ucn.dk,ucn.dk/7-point,*,2025/2026,00,10\n"  # 4 failing label
        + "example.org,ucn.dk/7-point,*,2025/2026,7,10\n"  # 5 unknown hei
        + "ucn.dk,fontys.nl/1-10,*,2025/2026,7,10\n"  # 6 scheme of another hei
        + "ucn.dk,ucn.dk/7-point,06x,2025/2026,7,10\n"  # 7 bad group
        + "ucn.dk,ucn.dk/7-point,*,2025-2026,7,10\n"  # 8 bad year
        + "ucn.dk,ucn.dk/7-point,*,2025/2026,7,lots\n"  # 9 bad percentage
        + "ucn.dk,ucn.dk/pass-fail,*,2025/2026,bestået,100\n"  # 10 pass/fail scheme
        + "ucn.dk,ucn.dk/7-point,*,2025/2026,10\n"  # 11 short row
        + "ucn.dk,ucn.dk/nope,*,2025/2026,10,5\n"  # 12 unknown scheme
    )
    (tmp_path / "b.csv").write_text("hei;scheme;group\n")
    (tmp_path / "c.csv").write_text(
        HEADER + "hh.se,hh.se/U-G-VG,*,2025/2026,VG,30\nhh.se,hh.se/U-G-VG,*,2025/2026,VG,40\nhh.se,hh.se/U-G-VG,*,2025/2026,G,30\n"
    )
    (tmp_path / "d.csv").write_text(HEADER + "viko.lt,viko.lt/1-10,*,2025/2026,10,50\nviko.lt,viko.lt/1-10,*,2025/2026,9,49\n")
    with pytest.raises(TableError) as info:
        load_tables(tmp_path)
    problems = "\n".join(info.value.problems)
    for where, what in [
        ("a.csv:3", "'2' is not a label of ucn.dk/7-point"),
        ("a.csv:4", "'00' is a failing grade"),
        ("a.csv:5", "unknown hei 'example.org'"),
        ("a.csv:6", "belongs to fontys.nl"),
        ("a.csv:7", "reference_group '06x'"),
        ("a.csv:8", "academic_year '2025-2026'"),
        ("a.csv:9", "percentage 'lots'"),
        ("a.csv:10", "pass/fail only"),
        ("a.csv:11", "expected 6 columns"),
        ("a.csv:12", "unknown grading scheme 'ucn.dk/nope'"),
        ("b.csv:1", "header must be"),
        ("c.csv:3", "'VG' appears twice"),
        ("a.csv:2", "add up to 20, not 100"),
        ("d.csv:2", "add up to 99, not 100"),
    ]:
        assert any(p.startswith(where) and what in p for p in info.value.problems), f"{where}: {what}\n{problems}"


def test_a_table_split_over_two_files_is_refused(tmp_path):
    (tmp_path / "a.csv").write_text(HEADER + "hh.se,hh.se/U-G-VG,*,2025/2026,VG,30\n")
    (tmp_path / "b.csv").write_text(HEADER + "hh.se,hh.se/U-G-VG,*,2025/2026,G,70\n")
    with pytest.raises(TableError, match="several files"):
        load_tables(tmp_path)


def test_missing_folder_or_no_files(tmp_path):
    with pytest.raises(TableError, match="not a folder"):
        load_tables(tmp_path / "nope")
    with pytest.raises(TableError, match="no \\*.csv"):
        load_tables(tmp_path)


def test_shipped_files_load_cleanly():
    assert len(default_tables()) >= 2 * len(GRADED) + 5
