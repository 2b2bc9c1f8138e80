"""MENDELU's UIS connector on the simulated exports and on hand-written ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.partners.mendelu_uis import MendeluUis
from connectors.sdk import SourceUnavailable
from tests.connectors.partners.simulated import (
    SimulatedSuite,
    assert_matches_simulation,
    copy_partner,
    counts,
    outcomes,
    reasons,
)

HEI = "mendelu.cz"
KINDS = {"broken_xml": "parse", "wrong_encoding": "parse", "unknown_grade_label": "unknown_grade",
         "unknown_course": "unknown_course"}  # simulator's word -> dead letter kind
NS = "https://is.mendelu.cz/xml/uis-export/1"
COURSES = (f'<?xml version="1.0" encoding="UTF-8"?><predmety xmlns="{NS}">'
           '<predmet kod="EBC-ACC3" kredity="7.5" isced="0411" stupnice="A-F" obdobi="LS 2025/2026"/>'
           '<predmet kod="EBC-SEM" kredity="2" isced="0411" stupnice="Z-N" obdobi="ZS 2025/2026"/></predmety>')
ESI = "urn:schac:personalUniqueCode:int:esi:hh.se:205a52f2"


def _settings(folder: Path) -> dict[str, object]:
    return {"folder": folder / "exports", "courses_file": folder / "predmety.xml", "poll_interval": 0.05}


class TestMendeluUis(SimulatedSuite):
    connector_class = MendeluUis

    def prepare(self, tmp_path: Path) -> dict[str, object]:
        return _settings(copy_partner(self.alliance, HEI, tmp_path))


def test_good_and_bad_records_are_the_simulators(native_alliance: Path, tmp_path: Path) -> None:
    results = outcomes(MendeluUis(**_settings(copy_partner(native_alliance, HEI, tmp_path))), tmp_path)
    assert_matches_simulation(results, native_alliance, HEI)
    expected = {}
    for kind, n in counts(native_alliance, HEI)["bad_by_kind"].items():
        expected[KINDS[kind]] = expected.get(KINDS[kind], 0) + n
    assert reasons(results) == expected


def _exports(tmp_path: Path, **files: str) -> MendeluUis:
    (tmp_path / "exports").mkdir()
    (tmp_path / "predmety.xml").write_text(COURSES, encoding="utf-8")
    for name, body in files.items():
        (tmp_path / "exports" / f"uis-export-{name}.xml").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?><uis-export xmlns="{NS}">{body}</uis-export>', encoding="utf-8")
    return MendeluUis(**_settings(tmp_path))


def test_registrations_and_results_carry_the_esi_of_an_earlier_export(tmp_path: Path) -> None:
    conn = _exports(tmp_path,
                    **{"20250901-0330": f'<student uco="400001" esi="{ESI}" jmeno="Anna" prijmeni="Berg"/>',
                       "20260115-0230": (
                           '<zapis id="7001" uco="400001" predmet="EBC-ACC3" obdobi="LS 2025/2026" stav="zapsano" '
                           'zmeneno="2026-01-15T10:00:00+01:00"/>'
                           '<hodnoceni id="9001" verze="2" uco="400001" predmet="EBC-SEM" znamka="Z" pokus="1" '
                           'datum="2026-01-08" stav="opraveno" zmeneno="2026-01-12T15:50:08+01:00"/>')})
    events = [out.event for _, _, o in outcomes(conn, tmp_path) for out in o.outputs]
    enrolment, grade = events
    assert (enrolment.term_id, str(enrolment.ects), enrolment.status.value, enrolment.student_esi) == (
        "2025/2026-2", "7.50", "REGISTERED", ESI)  # an incoming student: the ESI of the home HEI
    assert (grade.grade_label, grade.grading_scheme_id, grade.status.value, grade.result_id, grade.student_esi) == (
        "Z", "mendelu.cz/Z-N", "CORRECTED", "9001", ESI)
    assert grade.occurred_at.isoformat() == "2026-01-12T14:50:08+00:00"


def test_a_cut_off_export_is_one_dead_letter_and_the_others_still_count(tmp_path: Path) -> None:
    conn = _exports(tmp_path, **{"20260115-0230": '<zapis id="7001" uco="400001" predmet="EBC-ACC3" obdobi="LS 2025/2026" '
                                 'stav="zruseno" zmeneno="2026-01-15T10:00:00+01:00"/>'})
    (tmp_path / "exports" / "uis-export-20260116-0230-oprava-1.xml").write_bytes(b'<?xml version="1.0"?><uis-export><hodn')
    results = outcomes(conn, tmp_path)
    assert [out.event.status.value for _, _, o in results for out in o.outputs] == ["WITHDRAWN"]
    [letter] = [o.dead_letter.event for _, _, o in results if o.dead_letter is not None]
    assert letter.error_kind == "parse" and "not well-formed XML" in letter.reason


def test_a_missing_course_list_is_retried_not_dead_lettered(tmp_path: Path) -> None:
    conn = _exports(tmp_path, **{"20260115-0230": '<zapis id="7001" uco="1" predmet="EBC-ACC3" obdobi="LS 2025/2026" '
                                 'stav="zapsano" zmeneno="2026-01-15T10:00:00+01:00"/>'})
    (tmp_path / "predmety.xml").unlink()
    with pytest.raises(SourceUnavailable, match="predmety.xml is missing"):
        outcomes(conn, tmp_path)
