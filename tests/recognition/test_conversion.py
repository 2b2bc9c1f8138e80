"""Grade conversion: the worked example, every method, and properties over every pair of schemes."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.grading import SCHEMES, home_scheme, scheme
from schemas.institutions import SCHAC_CODES
from schemas.models import ConversionMethod, TableSource
from streams.recognition import Converter, HostResult, convert, load_tables
from streams.recognition.tables import GradingTable, GradingTables
from schemas.models import TableRef

HEADER = "hei,scheme_id,reference_group,academic_year,label,percentage\n"
GRADED = sorted(s.id for s in SCHEMES.values() if not s.pass_fail_only)
PASS_FAIL = sorted(s.id for s in SCHEMES.values() if s.pass_fail_only)


@pytest.mark.parametrize(("host", "home", "overlap"), [("15", "8", 12), ("13", "7", 18), ("16", "9", 7), ("15/20", "8", 12)])
def test_worked_example_thomas_more_to_fontys_isced_0613(host, home, overlap):
    c = convert(HostResult("thomasmore.be/0-20", host, field="0613", year="2025/2026"), "fontys.nl", field="0613", year="2025/2026")
    assert c.label == home and c.passed
    assert c.overlap == pytest.approx(overlap)
    conv = c.conversion
    assert conv.method is ConversionMethod.BAND_OVERLAP
    assert conv.host_tables[0].source is conv.home_table.source is TableSource.FIELD
    assert conv.home_band.label == home


def _tables(tmp_path, rows: str) -> GradingTables:
    (tmp_path / "t.csv").write_text(HEADER + rows)
    return load_tables(tmp_path)


def test_a_tie_goes_to_the_better_grade(tmp_path):
    tables = _tables(tmp_path, "hh.se,hh.se/U-G-VG,*,2025/2026,VG,40\nhh.se,hh.se/U-G-VG,*,2025/2026,G,60\n"
                     + "".join(f"fontys.nl,fontys.nl/1-10,*,2025/2026,{g},{p}\n" for g, p in [(10, 20), (9, 40), (8, 20), (7, 10), (6, 10)]))
    c = convert(HostResult("hh.se/U-G-VG", "VG"), "fontys.nl", tables=tables)
    assert c.label == "10" and c.overlap == pytest.approx(20)  # 0-40 overlaps 10 (0-20) and 9 (20-60) by 20 each


def test_a_grade_nobody_got_converts_by_its_position(tmp_path):
    tables = _tables(tmp_path, "hh.se,hh.se/U-3-4-5,*,2025/2026,5,0\nhh.se,hh.se/U-3-4-5,*,2025/2026,4,60\nhh.se,hh.se/U-3-4-5,*,2025/2026,3,40\n")
    c = convert(HostResult("hh.se/U-3-4-5", "5"), "mendelu.cz", tables=tables)
    assert c.conversion.host_bands[0].lower == c.conversion.host_bands[0].upper == 0
    assert c.label == "A" and c.conversion.point == 0


def test_several_host_grades_use_the_weighted_midpoint(tmp_path):
    c = convert([HostResult("thomasmore.be/0-20", "15", 5, "0613", "2025/2026"),
                 HostResult("thomasmore.be/0-20", "13", 10, "0613", "2025/2026")],
                "fontys.nl", field="0613", year="2025/2026")
    # midpoints 19 and 53, weighted 5:10 -> 41.667, inside 8 (12-45)
    assert c.conversion.method is ConversionMethod.WEIGHTED_MIDPOINT
    assert c.conversion.point == pytest.approx(41.666667)
    assert c.label == "8"
    assert [b.label for b in c.conversion.host_bands] == ["15", "13"]


def test_a_midpoint_on_a_boundary_goes_to_the_better_grade(tmp_path):
    # host bands 13-25 (mid 19) and 61-79 (mid 70) with equal ECTS: point 44.5, exactly the home boundary 9|8
    tables = _tables(tmp_path, "".join(f"thomasmore.be,thomasmore.be/0-20,*,2025/2026,{g},{p}\n" for g, p in
                                       [(20, 1), (19, 2), (18, 3), (17, 3), (16, 4), (15, 12), (14, 36), (13, 18), (12, 1), (11, 10), (10, 10)])
                     + "".join(f"fontys.nl,fontys.nl/1-10,*,2025/2026,{g},{p}\n" for g, p in [(10, 4.5), (9, 40), (8, 30), (7, 20), (6, 5.5)]))
    c = convert([HostResult("thomasmore.be/0-20", "15", 5), HostResult("thomasmore.be/0-20", "13", 5)], "fontys.nl", tables=tables)
    assert c.conversion.point == pytest.approx(44.5)
    assert c.conversion.home_band.upper == pytest.approx(44.5) and c.label == "9"


def test_pass_fail_results_map_to_a_pass_without_grade():
    c = convert(HostResult("seamk.fi/pass-fail", "hyväksytty"), "th-deg.de")
    assert (c.label, c.passed, c.conversion.method) == (None, True, ConversionMethod.PASS_FAIL)
    mixed = convert([HostResult("seamk.fi/pass-fail", "H", 2), HostResult("seamk.fi/0-5", "5", 5)], "th-deg.de")
    assert mixed.conversion.method is ConversionMethod.BAND_OVERLAP and mixed.label is not None


def test_halmstad_records_no_home_grade():
    c = convert(HostResult("ucn.dk/7-point", "12"), "hh.se")
    assert (c.label, c.passed, c.conversion.method, c.home_scheme_id) == (None, True, ConversionMethod.NONE, "hh.se/pass-fail")


def test_a_failing_grade_converts_to_nothing():
    c = convert(HostResult("ucn.dk/7-point", "00"), "fontys.nl")
    assert (c.label, c.passed, c.conversion.method) == (None, False, ConversionMethod.NONE)


@pytest.mark.parametrize(("host_scheme", "label", "home", "expected"), [
    ("th-deg.de/1-5", "1.0", "mendelu.cz", "A"),
    ("th-deg.de/1-5", "4.0", "mendelu.cz", "E"),
    ("mendelu.cz/A-F", "1", "th-deg.de", "1.3"),  # A covers 0-15 %: 1.3 (6-15) overlaps more than 1.0 (0-6)
    ("mendelu.cz/A-F", "E", "th-deg.de", "3.3"),  # E 79-100 overlaps 3.3 (79-88) 9, 3.7 (88-95) 7, 4.0 (95-100) 5
    ("ucn.dk/7-point", "02", "thomasmore.be", "10"),
    ("ucn.dk/7-point", "12", "thomasmore.be", "16"),  # 12 covers 0-17 %
    ("hh.se/A-F", "C", "viko.lt", "8"),
    ("fontys.nl/1-10", "5,5", "seamk.fi", "2"),  # 5,5 rounds to 6 (78-100 %): overlaps 2 (80-93) more than 1 (93-100)
])
def test_partner_pairs(host_scheme, label, home, expected):
    assert convert(HostResult(host_scheme, label, year="2025/2026"), home, year="2025/2026").label == expected


def test_conversion_is_monotonic_for_every_pair_of_graded_schemes_with_the_shipped_tables():
    conv = Converter()
    for host_id, home_id in itertools.product(GRADED, GRADED):
        for year, field in [("2025/2026", None), ("2024/2025", "0613"), ("2025/2026", "0811")]:
            ranks = [scheme(home_id).rank(conv.convert(HostResult(host_id, label, field=field, year=year), "x",
                                                       field=field, year=year, home_scheme_id=home_id).label)
                     for label in scheme(host_id).passing_labels]
            assert ranks == sorted(ranks), (host_id, home_id, year, field)


def _random_table(draw, scheme_id: str) -> GradingTable:
    labels = scheme(scheme_id).passing_labels
    shares = draw(st.lists(st.integers(0, 40), min_size=len(labels), max_size=len(labels)).filter(lambda s: sum(s) > 0))
    ref = TableRef(hei=scheme(scheme_id).hei, scheme_id=scheme_id, reference_group="*", academic_year="2025/2026",
                   source=TableSource.INSTITUTION)
    return GradingTable(ref, dict(zip(labels, map(float, shares))), "drawn")


@st.composite
def _pair(draw):
    host_id, home_id = draw(st.sampled_from(GRADED)), draw(st.sampled_from(GRADED))
    tables = GradingTables([_random_table(draw, host_id)] + ([_random_table(draw, home_id)] if home_id != host_id else []))
    return host_id, home_id, tables


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_pair())
def test_a_better_host_grade_never_gives_a_worse_home_grade(pair):
    host_id, home_id, tables = pair
    conv = Converter(tables)
    ranks = [scheme(home_id).rank(conv.convert(HostResult(host_id, label), "x", home_scheme_id=home_id).label)
             for label in scheme(host_id).passing_labels]
    assert ranks == sorted(ranks)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_pair(), st.data())
def test_improving_one_of_several_grades_never_worsens_the_weighted_result(pair, data):
    host_id, home_id, tables = pair
    labels = scheme(host_id).passing_labels
    conv = Converter(tables)
    others = data.draw(st.lists(st.tuples(st.sampled_from(labels), st.integers(1, 10)), min_size=1, max_size=4))
    i = data.draw(st.integers(0, len(labels) - 2))
    results = []
    for label in (labels[i + 1], labels[i]):  # worse, then better
        hosts = [HostResult(host_id, label, 5)] + [HostResult(host_id, lab, e) for lab, e in others]
        results.append(scheme(home_id).rank(conv.convert(hosts, "x", home_scheme_id=home_id).label))
    assert results[1] <= results[0]


@pytest.mark.parametrize("host_id", GRADED + PASS_FAIL)
def test_pass_maps_to_pass_and_fail_to_no_recognition(host_id):
    for label, home_hei in itertools.product(scheme(host_id).labels, SCHAC_CODES):
        c = convert(HostResult(host_id, label), home_hei)
        home = home_scheme(home_hei)
        assert c.passed is (label in scheme(host_id).passing)
        if not c.passed:
            assert c.label is None and c.conversion.method is ConversionMethod.NONE
        elif home.pass_fail_only or scheme(host_id).pass_fail_only:
            assert c.label is None
        else:
            assert c.label in home.passing
