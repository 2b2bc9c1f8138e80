"""Every partner's grading scheme: exact labels, accepted spellings, pass flags, and refusals."""

from __future__ import annotations

import pytest

from schemas.grading import SCHEMES, UnknownGrade, UnknownScheme, home_scheme, is_pass, normalise_label, scheme, schemes_of
from schemas.institutions import SCHAC_CODES

# (scheme id, as printed, label it is)
ACCEPTED = [
    ("thomasmore.be/0-20", "15", "15"),
    ("thomasmore.be/0-20", "15/20", "15"),
    ("thomasmore.be/0-20", " 9 ", "9"),
    ("fontys.nl/1-10", "6", "6"),
    ("fontys.nl/1-10", "5,5", "6"),
    ("fontys.nl/1-10", "5.5", "6"),
    ("fontys.nl/1-10", "5.4", "5"),
    ("fontys.nl/1-10", "7,8", "8"),
    ("fontys.nl/1-10", "9.5", "10"),
    ("fontys.nl/pass-fail", "behaald", "BEH"),
    ("fontys.nl/pass-fail", "vrijstelling", "VR"),
    ("fontys.nl/pass-fail", "niet behaald", "NB"),
    ("fontys.nl/OGSU", "G", "G"),
    ("ucn.dk/7-point", "02", "02"),
    ("ucn.dk/7-point", "00", "00"),
    ("ucn.dk/7-point", "-3", "-3"),
    ("ucn.dk/7-point", "\u22123", "-3"),
    ("ucn.dk/pass-fail", "bestået", "bestået"),
    ("ipbeja.pt/0-20", "10", "10"),
    ("th-deg.de/1-5", "1,3", "1.3"),
    ("th-deg.de/1-5", "1", "1.0"),
    ("th-deg.de/1-5", "4", "4.0"),
    ("th-deg.de/1-5", "2,0", "2.0"),
    ("th-deg.de/1-5", "Fristen-5", "5.0"),
    ("th-deg.de/pass-fail", "bestanden", "mit Erfolg"),
    ("th-deg.de/pass-fail", "nicht bestanden", "ohne Erfolg"),
    ("hh.se/U-G-VG", "VG", "VG"),
    ("hh.se/U-3-4-5", "3", "3"),
    ("hh.se/A-F", "FX", "Fx"),
    ("hh.se/pass-fail", "G", "G"),
    ("seamk.fi/0-5", "hylätty", "0"),
    ("seamk.fi/0-5", "hyl.", "0"),
    ("seamk.fi/pass-fail", "hyväksytty", "H"),
    ("seamk.fi/pass-fail", "suoritettu", "S"),
    ("viko.lt/1-10", "5", "5"),
    ("viko.lt/pass-fail", "įskaityta", "įskaityta"),
    ("mendelu.cz/A-F", "1", "A"),
    ("mendelu.cz/A-F", "1,5", "B"),
    ("mendelu.cz/A-F", "2.5", "D"),
    ("mendelu.cz/A-F", "4", "F"),
    ("mendelu.cz/Z-N", "Z", "Z"),
]

REFUSED = [
    ("ucn.dk/7-point", "2"),  # "02" is not "2"
    ("ucn.dk/7-point", "0"),
    ("ucn.dk/7-point", "-4"),
    ("fontys.nl/1-10", "10.5"),
    ("fontys.nl/1-10", "0.4"),
    ("fontys.nl/1-10", "zes"),
    ("thomasmore.be/0-20", "21"),
    ("thomasmore.be/0-20", "15/10"),
    ("th-deg.de/1-5", "1.5"),
    ("th-deg.de/1-5", "6"),
    ("hh.se/U-G-VG", "g"),
    ("hh.se/A-F", "fx"),
    ("seamk.fi/0-5", "6"),
    ("mendelu.cz/A-F", "3.5"),
    ("viko.lt/1-10", "0"),
]

# (scheme id, label, passes?)
PASS_FLAGS = [
    ("thomasmore.be/0-20", "10", True), ("thomasmore.be/0-20", "9", False),
    ("fontys.nl/1-10", "6", True), ("fontys.nl/1-10", "5,4", False), ("fontys.nl/1-10", "5,5", True),
    ("fontys.nl/pass-fail", "VR", True), ("fontys.nl/OGSU", "S", True), ("fontys.nl/OGSU", "O", False),
    ("ucn.dk/7-point", "02", True), ("ucn.dk/7-point", "00", False), ("ucn.dk/7-point", "-3", False),
    ("ipbeja.pt/0-20", "10", True), ("ipbeja.pt/0-20", "9", False),
    ("th-deg.de/1-5", "4.0", True), ("th-deg.de/1-5", "5,0", False), ("th-deg.de/1-5", "Fristen-5", False),
    ("hh.se/U-G-VG", "G", True), ("hh.se/U-G-VG", "U", False), ("hh.se/U-3-4-5", "3", True),
    ("hh.se/U-3-4-5", "U", False), ("hh.se/A-F", "E", True), ("hh.se/A-F", "Fx", False), ("hh.se/pass-fail", "U", False),
    ("seamk.fi/0-5", "1", True), ("seamk.fi/0-5", "hylätty", False), ("seamk.fi/pass-fail", "S", True),
    ("viko.lt/1-10", "5", True), ("viko.lt/1-10", "4", False),
    ("mendelu.cz/A-F", "E", True), ("mendelu.cz/A-F", "F", False), ("mendelu.cz/Z-N", "N", False),
]


@pytest.mark.parametrize(("scheme_id", "raw", "label"), ACCEPTED)
def test_accepted_spellings_normalise_to_the_label(scheme_id, raw, label):
    assert normalise_label(scheme_id, raw) == label


@pytest.mark.parametrize(("scheme_id", "raw"), REFUSED)
def test_unknown_labels_are_refused_with_the_valid_ones(scheme_id, raw):
    with pytest.raises(UnknownGrade) as info:
        normalise_label(scheme_id, raw)
    assert isinstance(info.value, ValueError)
    for label in scheme(scheme_id).labels:
        assert label in str(info.value)


@pytest.mark.parametrize(("scheme_id", "label", "passes"), PASS_FLAGS)
def test_pass_flags(scheme_id, label, passes):
    assert is_pass(scheme_id, label) is passes


def test_reversed_scales_list_best_first():
    assert scheme("th-deg.de/1-5").labels[0] == "1.0" and scheme("th-deg.de/1-5").pass_mark == "4.0"
    assert scheme("mendelu.cz/A-F").labels[0] == "A" and scheme("mendelu.cz/A-F").pass_mark == "E"
    assert scheme("th-deg.de/1-5").rank("1.3") < scheme("th-deg.de/1-5").rank("2.0")


def test_every_partner_has_a_home_scheme_and_halmstad_records_no_grades():
    for hei in SCHAC_CODES:
        home = home_scheme(hei)
        assert home.hei == hei and home.is_home_default
        assert schemes_of(hei)[0] is home
    assert home_scheme("hh.se").pass_fail_only
    assert {s.id for s in schemes_of("hh.se")} == {"hh.se/U-G-VG", "hh.se/U-3-4-5", "hh.se/A-F", "hh.se/pass-fail"}
    assert sum(1 for s in SCHEMES.values() if s.is_home_default) == 9


def test_pass_fail_only_schemes():
    expected = {s for s in SCHEMES if s.endswith("/pass-fail")} | {"mendelu.cz/Z-N"}
    assert {s.id for s in SCHEMES.values() if s.pass_fail_only} == expected


def test_passing_labels_are_a_prefix_and_aliases_point_to_labels():
    for s in SCHEMES.values():
        assert s.passing_labels == s.labels[: len(s.passing)]
        assert all(label in s.labels for label in s.aliases.values())
        for label in s.labels:
            assert s.normalise(label) == label


def test_unknown_scheme_lists_known_ones():
    with pytest.raises(UnknownScheme, match="ucn.dk/7-point"):
        scheme("ucn.dk/12-point")
    with pytest.raises(UnknownScheme):
        schemes_of("example.org")
