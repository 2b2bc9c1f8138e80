"""Deggendorf's PRIMUSS connector on the simulated exports and on hand-written ones (cp1252, ``;``, decimal comma)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.partners.thd_primuss import DeggendorfPrimuss
from connectors.sdk import SourceUnavailable
from tests.connectors.partners.simulated import (
    SimulatedSuite,
    assert_matches_simulation,
    copy_partner,
    counts,
    outcomes,
    reasons,
)

HEI = "th-deg.de"
KINDS = {"broken_csv": "parse", "wrong_encoding": "encoding", "unknown_grade_label": "unknown_grade",
         "unknown_course": "unknown_course", "invalid_record": "invalid_record"}  # simulator's word -> dead letter kind
GRADES = "Matrikelnummer;Prüfungsnummer;Note;ECTS;Prüfungsdatum;Versuch;Status\r\n"
EXAMS = ("Prüfungsnummer;Bezeichnung;ECTS;Notenskala;ISCED;Semester\r\n"
         "5120;Datenbanken;7,5;1,0-5,0;0613;WS 2025/26\r\n5121;Praxisprojekt;5,0;mit/ohne Erfolg;0613;SS 2026\r\n")


def _settings(folder: Path) -> dict[str, object]:
    return {"folder": folder / "exports", "exams_file": folder / "Pruefungen.csv", "poll_interval": 0.05}


class TestDeggendorfPrimuss(SimulatedSuite):
    connector_class = DeggendorfPrimuss

    def prepare(self, tmp_path: Path) -> dict[str, object]:
        return _settings(copy_partner(self.alliance, HEI, tmp_path))


def test_good_and_bad_records_are_the_simulators(native_alliance: Path, tmp_path: Path) -> None:
    results = outcomes(DeggendorfPrimuss(**_settings(copy_partner(native_alliance, HEI, tmp_path))), tmp_path)
    assert_matches_simulation(results, native_alliance, HEI)
    assert reasons(results) == {KINDS[k]: n for k, n in counts(native_alliance, HEI)["bad_by_kind"].items()}


def _export(tmp_path: Path, *rows: bytes) -> DeggendorfPrimuss:
    (tmp_path / "exports").mkdir()
    (tmp_path / "Pruefungen.csv").write_bytes(EXAMS.encode("cp1252"))
    (tmp_path / "exports" / "Notenexport_20260120_0300.csv").write_bytes(GRADES.encode("cp1252") + b"".join(rows))
    return DeggendorfPrimuss(**_settings(tmp_path))


def test_a_row_in_another_code_page_costs_that_row_only(tmp_path: Path) -> None:
    conn = _export(tmp_path, "22000001;5120;1,3;7,5;08.01.2026;1;endgültig\r\n".encode("cp1252"),
                   "22000002;5120;2,0;7,5;08.01.2026;1;endgültig\r\n".encode("cp437"),
                   "22000003;5121;bestanden;5,0;02.07.2026;1;korrigiert\r\n".encode("cp1252"))
    results = outcomes(conn, tmp_path)
    grades = [out.event for _, _, o in results for out in o.outputs]
    assert [(g.student_id, g.grade_label, g.grading_scheme_id, str(g.ects), g.status.value) for g in grades] == [
        ("22000001", "1,3", "th-deg.de/1-5", "7.50", "FINAL"),  # the label as printed; ECTS from a decimal comma
        ("22000003", "bestanden", "th-deg.de/pass-fail", "5.00", "CORRECTED")]
    assert grades[0].occurred_at.isoformat() == "2026-01-07T23:00:00+00:00"  # 00:00 in Deggendorf (CET)
    assert grades[1].occurred_at.isoformat() == "2026-07-01T22:00:00+00:00"  # (CEST)
    assert grades[0].academic_year == "2025/2026" and grades[0].isced_code == "0613"
    [letter] = [o.dead_letter.event for _, _, o in results if o.dead_letter is not None]
    assert letter.error_kind == "encoding" and "byte 0x81" in letter.reason and "cp1252" in letter.reason
    assert letter.payload == "22000002;5120;2,0;7,5;08.01.2026;1;endgültig\r\n".encode("cp437")  # the bytes as sent


def test_unknown_labels_and_exams_are_dead_lettered_with_the_reason(tmp_path: Path) -> None:
    conn = _export(tmp_path, b"22000001;5120;4,3;7,5;08.01.2026;1;endg\xfcltig\r\n",
                   b"22000001;5999;1,0;7,5;08.01.2026;1;endg\xfcltig\r\n",
                   b"22000001;5120;1,0;7,5;08.01.2026;1;gel\xf6scht\r\n")
    letters = [o.dead_letter.event for _, _, o in outcomes(conn, tmp_path) if o.dead_letter is not None]
    assert [(d.error_kind, d.reason.split(":")[0]) for d in letters] == [
        ("unknown_grade", "'4,3' is not a grade of th-deg.de/1-5"),
        ("unknown_course", "course '5999' is not in Pruefungen.csv"),
        ("invalid_record", "Status 'gelöscht' is none of endgültig, korrigiert, annulliert, storniert")]


def test_a_row_exported_again_keeps_its_event_id(tmp_path: Path) -> None:
    row = b"22000001;5120;1,3;7,5;08.01.2026;1;endg\xfcltig\r\n"
    conn = _export(tmp_path, row)
    (tmp_path / "exports" / "Notenexport_20260122_0300.csv").write_bytes(GRADES.encode("cp1252") + row)
    ids = [out.event.event_id for _, _, o in outcomes(conn, tmp_path) for out in o.outputs]
    assert len(ids) == 2 and ids[0] == ids[1]


def test_a_missing_exam_catalogue_is_retried_not_dead_lettered(tmp_path: Path) -> None:
    conn = _export(tmp_path, b"22000001;5120;1,3;7,5;08.01.2026;1;endg\xfcltig\r\n")
    (tmp_path / "Pruefungen.csv").unlink()
    with pytest.raises(SourceUnavailable, match="Pruefungen.csv is missing"):
        outcomes(conn, tmp_path)
