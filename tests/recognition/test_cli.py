"""``hub decide`` and ``hub convert-grade`` run as subprocesses, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

from schemas.canonical import from_json, to_json
from tests.recognition.factory import Student, comp, la


def hub(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "import sys; from hub.cli import main; sys.exit(main())", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60)


def _events_file(tmp_path, bad_line: bool = True):
    s = Student()
    agreement = la(1, [comp("TM101", 5), comp("TM102", 5)], [comp("INF201", 6, "Databases"), comp("INF202", 4, "Networks")],
                   groups=[("g1", ["TM101"], ["INF201"]), ("g2", ["TM102"], ["INF202"])])
    lines = [to_json(e) for e in (s.mobility("NOMINATED"), s.approved(agreement, day=1), s.grade("TM101", "15"), s.grade("TM102", "8"))]
    if bad_line:
        lines.append('{"event_type": "Grade", "grade_label": "15"')  # line 5: broken JSON
    lines.append(to_json(s.mobility("TOR_ISSUED", 150)))
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_decide_prints_decisions_as_canonical_json_and_reports_bad_lines(tmp_path):
    done = hub("decide", str(_events_file(tmp_path)))
    assert done.returncode == 1
    assert "line 5" in done.stderr and "skipped" in done.stderr
    decisions = [from_json(line) for line in done.stdout.splitlines()]
    assert [(d.home_component, d.status.value, d.converted_grade) for d in decisions] == [
        ("INF201", "AUTO_RECOGNISED", "8"), ("INF202", "NOT_RECOGNISED", None)]
    assert all(to_json(d) == line for d, line in zip(decisions, done.stdout.splitlines()))


def test_decide_is_clean_without_bad_lines_and_reads_stdin(tmp_path):
    path = _events_file(tmp_path, bad_line=False)
    done = hub("decide", "-", stdin=path.read_text())
    assert done.returncode == 0, done.stderr
    assert done.stdout == hub("decide", str(path)).stdout and len(done.stdout.splitlines()) == 2


def test_decide_explain_prints_sentences_for_a_registrar(tmp_path):
    done = hub("decide", str(_events_file(tmp_path)), "--explain")
    assert done.returncode == 1
    text = " ".join(done.stdout.split())
    assert "M1 INF201 (Databases): AUTO_RECOGNISED v1, 6 ECTS, grade 8 [R2-all-passed]" in text
    assert "TM101 passed at thomasmore.be (15); 6 ECTS recognised for INF201 as 8" in text
    assert "INF202 (Networks): NOT_RECOGNISED v1, 0 ECTS [R3-failed-at-tor]" in text and "TM102 (8) failed" in text
    assert "{" not in done.stdout
    assert "2 decision(s) from 5 event(s); 1 line(s) skipped." in done.stderr


def test_decide_with_unusable_tables_exits_2(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "x.csv").write_text("wrong header\n")
    done = hub("decide", str(_events_file(tmp_path)), "--tables", str(tmp_path / "tables"))
    assert done.returncode == 2 and "x.csv:1: header must be" in done.stderr


def test_convert_grade_explains_the_worked_example():
    done = hub("convert-grade", "--from", "thomasmore.be", "--to", "fontys.nl", "--grade", "15", "--field", "0613", "--year", "2025/2026")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "home grade: 8 (fontys.nl/1-10)"
    text = " ".join(done.stdout.split())
    assert "thomasmore.be/0-20, ISCED 0613, 2025/2026 (field table)" in text and "13–25 %" in text and "BAND_OVERLAP" in text


def test_convert_grade_json_is_the_conversion_provenance():
    done = hub("convert-grade", "--from", "thomasmore.be", "--to", "fontys.nl", "--grade", "16", "--field", "0613", "--year", "2025/2026", "--json")
    data = json.loads(done.stdout)
    assert data["method"] == "BAND_OVERLAP" and data["home_band"]["label"] == "9"
    assert data["host_tables"][0]["source"] == "FIELD" and data["home_table"]["reference_group"] == "0613"


def test_convert_grade_refuses_unknown_institutions_and_labels():
    danish = hub("convert-grade", "--from", "ucn.dk", "--to", "fontys.nl", "--grade", "2")
    assert danish.returncode == 2 and "'2' is not a grade of ucn.dk/7-point" in danish.stderr and "02" in danish.stderr
    nowhere = hub("convert-grade", "--from", "example.org", "--to", "fontys.nl", "--grade", "2")
    assert nowhere.returncode == 2 and "unknown institution 'example.org'" in nowhere.stderr
    wrong = hub("convert-grade", "--from", "hh.se", "--scheme", "ucn.dk/7-point", "--to", "fontys.nl", "--grade", "12")
    assert wrong.returncode == 2 and "belongs to ucn.dk" in wrong.stderr


def test_both_commands_teach_with_an_example():
    for command in ("decide", "convert-grade"):
        done = hub(command, "--help")
        assert done.returncode == 0 and "Example" in done.stdout


def test_the_readme_example_decides_the_same_every_time():
    from pathlib import Path

    example = Path(__file__).parent / "data" / "example.jsonl"
    first, again = hub("decide", str(example)), hub("decide", str(example))
    assert first.returncode == 0 and first.stdout == again.stdout
    statuses = [(d.home_component, d.status.value, d.converted_grade) for d in map(from_json, first.stdout.splitlines())]
    assert statuses == [("INF-DATA", "AUTO_RECOGNISED", "8"), ("TM-ART", "NEEDS_REVIEW", None),
                        ("INF-NET", "NOT_RECOGNISED", None), ("TM-ART", "MANUALLY_RECOGNISED", "9")]
