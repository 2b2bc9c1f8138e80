"""The files of a simulated alliance agree with each other: counts, hub events, native formats, expectations."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from lxml import etree

from schemas.canonical import from_json, to_json
from schemas.grading import SCHEMES
from schemas.institutions import SCHAC_CODES

KINDS = {"Enrolment": "enrolments", "Grade": "grades", "Mobility": "mobilities"}
LADOK = {"a": "http://www.w3.org/2005/Atom"}


def _lines(path: Path) -> list[str]:
    return [x for x in path.read_text(encoding="utf-8").splitlines() if x]


def native_records(root: Path, hei: str, fmt: str) -> int:
    """How many records the partner's native SIS data holds, counted from the files themselves."""
    folder = root / hei
    if fmt == "ladok-atom":
        return sum(len(etree.parse(str(p)).findall("a:entry", LADOK)) for p in (folder / "feed").glob("*.xml"))
    if fmt == "ooapi":
        return sum(len(_lines(folder / "ooapi" / f)) for f in ("persons.jsonl", "associations.jsonl"))
    if fmt == "odata":
        return sum(len(_lines(folder / "odata" / f"{n}.jsonl")) for n in ("Students", "Registrations", "Results"))
    if fmt == "peppi":
        return sum(len(_lines(folder / "peppi" / f"{n}.jsonl")) for n in ("students", "enrolments", "attainments"))
    if fmt == "primuss-csv":
        return sum(len(p.read_bytes().split(b"\r\n")) - 2 for p in (folder / "exports").glob("*.csv"))
    if fmt in ("esas-sql", "netpa-sql"):
        db = sqlite3.connect(folder / ("esas.sqlite" if fmt == "esas-sql" else "netpa.sqlite"))
        tables = ("esas_studerende", "esas_tilmelding", "esas_bedoemmelse") if fmt == "esas-sql" else \
            ("netpa_alunos", "netpa_inscricoes", "netpa_avaliacoes")
        return sum(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables)
    if fmt == "webhook":
        return len((folder / "webhooks.jsonl").read_bytes().splitlines())
    if fmt == "uis-xml":
        total = 0
        for p in (folder / "exports").glob("*.xml"):
            try:
                total += len(etree.fromstring(p.read_bytes()))
            except etree.XMLSyntaxError:
                total += 1  # a broken export holds one bad record
        return total
    raise AssertionError(fmt)


def test_counts_match_the_files(sim):
    counts = sim.counts
    events = [json.loads(x) for x in _lines(sim.root / "hub-events.jsonl")]
    assert counts["hub_events"]["lines"] == len(events)
    assert counts["hub_events"]["distinct"] == len({e["event_id"] for e in events})
    distinct: dict[str, set[str]] = defaultdict(set)
    lines: Counter = Counter()
    for e in events:
        topic = f"sis.{e['source_hei']}.{KINDS[e['event_type']]}"
        distinct[topic].add(e["event_id"])
        lines[topic] += 1
    for topic, c in counts["topics"].items():
        assert c["good"] == len(distinct[topic]), topic
        assert c["deliveries"] == lines[topic] == c["good"] + c["duplicates"], topic
    bad = Counter(b["source"] for b in sim.jsonl("expected/bad.jsonl"))
    for source, c in counts["sources"].items():
        assert c["bad"] == bad[source] == sum(c["bad_by_kind"].values()), source
        hei, kind = source.split("/")
        if kind == "sis":
            assert native_records(sim.root, hei, c["format"]) == c["deliveries"], source
        else:
            assert len(_lines(sim.root / hei / "ewp" / "index.jsonl")) == c["deliveries"], source
    assert sum(counts["students_per_partner"].values()) == counts["students"] == 200


def test_every_hub_event_is_canonical_json_and_good(sim):
    seen: dict[str, str] = {}
    for line in _lines(sim.root / "hub-events.jsonl"):
        event = from_json(line)
        assert to_json(event) == line
        assert seen.setdefault(event.event_id, line) == line, "a duplicate delivery is the same line"
        if event.event_type == "Grade":
            SCHEMES[event.grading_scheme_id].normalise(event.grade_label)  # raises for an unknown label
            assert event.student_esi and event.source_hei == event.hei
        if event.event_type == "Mobility":
            assert event.sending_hei in SCHAC_CODES and event.receiving_hei in SCHAC_CODES
    kinds = Counter(json.loads(x)["event_type"] for x in _lines(sim.root / "hub-events.jsonl"))
    assert set(kinds) == {"Enrolment", "Grade", "Mobility"}


def test_deliveries_include_duplicates_and_late_ones(sim):
    events = [json.loads(x) for x in _lines(sim.root / "hub-events.jsonl")]
    assert len(events) > len({e["event_id"] for e in events})
    recorded = [e["recorded_at"] for e in events]
    assert recorded != sorted(recorded) or any(a["occurred_at"] > b["occurred_at"] for a, b in zip(events, events[1:], strict=False))
    statuses = Counter(e["status"] for e in events if e["event_type"] == "Grade")
    assert statuses["CORRECTED"] and statuses["REVOKED"] and statuses["FINAL"]
    assert any(e["attempt"] == 2 for e in events if e["event_type"] == "Grade")
    lifecycles = {e["lifecycle"] for e in events if e["event_type"] == "Mobility"}
    assert lifecycles == {"NOMINATED", "LA_APPROVED", "LA_CHANGED", "STARTED", "ENDED", "TOR_ISSUED", "CANCELLED"}


def _xml_files(root: Path) -> list[Path]:
    return sorted(list(root.glob("*/ewp/*/*.xml")) + list(root.glob("hh.se/feed/*.xml"))
                  + list(root.glob("mendelu.cz/exports/*.xml")) + [root / "mendelu.cz" / "predmety.xml"])


def test_good_xml_parses_and_bad_xml_files_do_not(sim):
    bad_files = {b["file"] for b in sim.jsonl("expected/bad.jsonl") if b["kind"] in ("broken_xml", "wrong_encoding") and "file" in b}
    assert bad_files
    for path in _xml_files(sim.root):
        rel = path.relative_to(sim.root).as_posix()
        if rel in bad_files:
            with pytest.raises(etree.XMLSyntaxError):
                etree.fromstring(path.read_bytes())
        else:
            etree.fromstring(path.read_bytes())


def test_bad_records_inside_good_files_are_really_bad(sim):
    # Ladok: the bad entry's content is no element, or names an unknown grade, course or date
    scales = json.loads((sim.root / "hh.se/grunddata/betygsskala.json").read_text())
    courses = {r["Uid"] for r in json.loads((sim.root / "hh.se/grunddata/kurstillfallen.json").read_text())}
    entries = {}
    for page in (sim.root / "hh.se/feed").glob("*.xml"):
        for e in etree.parse(str(page)).findall("a:entry", LADOK):
            entries[e.findtext("a:id", namespaces=LADOK)] = e
    rr = "{http://schemas.ladok.se/resultat}"
    for b in sim.bad("hh.se/sis"):
        content = entries[b["entry_id"]].find("a:content", LADOK)
        if b["kind"] == "broken_xml":
            assert len(content) == 0
            with pytest.raises(etree.XMLSyntaxError):
                etree.fromstring(content.text)
            continue
        event = content[0]
        if b["kind"] == "unknown_grade_label":
            scale = event.findtext(f"{rr}Resultat/{rr}BetygsskalaID")
            assert event.findtext(f"{rr}Resultat/{rr}BetygsgradID") not in scales[scale]["grades"]
        elif b["kind"] == "unknown_course":
            assert event.findtext(f"{rr}KurstillfalleUID") not in courses
        else:
            with pytest.raises(ValueError):
                __import__("datetime").date.fromisoformat(event.findtext(f"{rr}Resultat/{rr}Examinationsdatum"))
    # webhook bodies: broken ones do not parse, the others name something unknown
    bodies = (sim.root / "viko.lt/webhooks.jsonl").read_bytes().splitlines()
    for b in sim.bad("viko.lt/sis"):
        body = bodies[b["line"] - 1]
        if b["kind"] in ("broken_json", "wrong_encoding"):
            with pytest.raises(ValueError):
                json.loads(body.decode("utf-8"))
        else:
            msg = json.loads(body)
            assert (msg["institution"] != "viko.lt") or b["kind"] != "unknown_institution"
    # every good webhook body is UTF-8 JSON
    bad_lines = {b["line"] for b in sim.bad("viko.lt/sis")}
    for i, body in enumerate(bodies, start=1):
        if i not in bad_lines:
            json.loads(body.decode("utf-8"))
    # EWP: unknown institutions parse but name a non-partner receiving HEI
    for b in sim.jsonl("expected/bad.jsonl"):
        if b["kind"] == "unknown_institution" and b["source"].endswith("/ewp"):
            hei = etree.parse(str(sim.root / b["file"])).xpath("//*[local-name()='receiving-hei']/*[local-name()='hei-id']/text()")
            assert hei and hei[0] not in SCHAC_CODES


def test_primuss_exports_are_cp1252_semicolon_and_decimal_comma(sim):
    bad = {(b["file"], b["line"]): b["kind"] for b in sim.bad("th-deg.de/sis")}
    exports = sorted((sim.root / "th-deg.de/exports").glob("*.csv"))
    assert len(exports) > 5 and any(p.name.startswith("Notenexport_") for p in exports)
    for path in exports:
        rel = path.relative_to(sim.root).as_posix()
        raw_lines = path.read_bytes().split(b"\r\n")
        assert raw_lines[-1] == b""
        header = raw_lines[0].decode("cp1252").split(";")
        if path.name.startswith("Notenexport_"):
            assert header == ["Matrikelnummer", "Prüfungsnummer", "Note", "ECTS", "Prüfungsdatum", "Versuch", "Status"]
        for number, raw in enumerate(raw_lines[1:-1], start=2):
            kind = bad.get((rel, number))
            if kind == "wrong_encoding":
                with pytest.raises(UnicodeDecodeError):
                    raw.decode("cp1252")
                continue
            row = next(csv.reader([raw.decode("cp1252")], delimiter=";"))
            if kind == "broken_csv":
                assert len(row) != len(header)
                continue
            assert len(row) == len(header)
            if path.name.startswith("Notenexport_") and kind is None:
                assert "," in row[3] and row[3].replace(",", "").isdigit()  # ECTS "7,5"
                assert row[2] in ("bestanden", "nicht bestanden", "mit Erfolg", "ohne Erfolg", "Fristen-5") or "," in row[2]
    assert {"wrong_encoding", "broken_csv"} <= set(bad.values())


def test_grading_tables_follow_the_shared_format(sim):
    files = sorted((sim.root / "tables").glob("*.csv"))
    assert len(files) >= 8
    totals: dict[tuple, float] = defaultdict(float)
    for path in files:
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        assert list(rows[0]) == ["hei", "scheme_id", "reference_group", "academic_year", "label", "percentage"]
        for r in rows:
            assert r["label"] in SCHEMES[r["scheme_id"]].passing_labels
            totals[(r["hei"], r["scheme_id"], r["reference_group"], r["academic_year"])] += float(r["percentage"])
    assert all(abs(t - 100) <= 0.5 for t in totals.values())
    assert {k[2] for k in totals} - {"*"}, "some per-field tables"
    tables = pytest.importorskip("streams.recognition.tables")
    tables.load_tables(sim.root / "tables")  # the recogniser's own loader accepts them


def test_expected_decisions_cover_every_mobility_with_an_la(sim):
    decisions = defaultdict(list)
    for d in sim.jsonl("expected/decisions.jsonl"):
        assert set(d) == {"omobility_id", "home_hei", "host_hei", "student_esi", "home_component", "status", "ects", "reason"}
        decisions[d["omobility_id"]].append(d)
    statuses = Counter()
    for m in sim.jsonl("expected/mobilities.jsonl"):
        lines = {d["home_component"]: d for d in decisions[m["omobility_id"]]}
        statuses.update(d["status"] for d in lines.values())
        if not m["la_versions"]:
            assert not lines
            continue
        pending = {b for g in m["groups"] if g["group_id"] in m["pending_groups"] for b in g["recognized"]}
        for b in m["table_b"]:
            assert (b in lines) != (b in pending), (m["omobility_id"], b)
        if "CANCELLED" in m["lifecycle"]:
            assert {d["status"] for d in lines.values()} == {"REVOKED"}
        for code in m["outside_la"]:
            assert lines[code]["status"] == "NEEDS_REVIEW" and lines[code]["ects"] == 0
        for d in lines.values():
            assert (d["ects"] > 0) == (d["status"] == "AUTO_RECOGNISED")
    assert set(statuses) == {"AUTO_RECOGNISED", "NEEDS_REVIEW", "NOT_RECOGNISED", "REVOKED"}
    assert any(m["pending_groups"] for m in sim.jsonl("expected/mobilities.jsonl"))


def test_auto_recognitions_rest_on_passed_host_grades_in_hub_events(sim):
    """An independent look from hub-events.jsonl alone: the latest LA and host grades back every AUTO line."""
    events = [from_json(x) for x in _lines(sim.root / "hub-events.jsonl")]
    las, grades = {}, defaultdict(list)
    for e in events:
        if e.event_type == "Mobility" and e.learning_agreement is not None:
            if e.omobility_id not in las or e.learning_agreement.version > las[e.omobility_id].version:
                las[e.omobility_id] = e.learning_agreement
        elif e.event_type == "Grade":
            grades[(e.student_esi, e.hei, e.course_code)].append(e)
    mobilities = {m["omobility_id"]: m for m in sim.jsonl("expected/mobilities.jsonl")}
    rank = {"FINAL": 0, "CORRECTED": 1, "REVOKED": 2}
    checked = 0
    for d in sim.jsonl("expected/decisions.jsonl"):
        if d["status"] != "AUTO_RECOGNISED":
            continue
        m, la = mobilities[d["omobility_id"]], las[d["omobility_id"]]
        assert d["home_component"] in [c.course_code for c in la.components_recognized]
        group = next(g for g in m["groups"] if d["home_component"] in g["recognized"])
        for code in group["studied"]:
            results = {}
            for g in grades[(d["student_esi"], d["host_hei"], code)]:
                if g.result_id not in results or rank[g.status.value] > rank[results[g.result_id].status.value]:
                    results[g.result_id] = g
            live = [g for g in results.values() if g.status.value != "REVOKED"]
            last = max(live, key=lambda g: (g.attempt, g.assessed_on, g.occurred_at))
            assert SCHEMES[last.grading_scheme_id].is_pass(last.grade_label)
            checked += 1
    assert checked > 20


def test_deadline_alerts_follow_the_35_day_rules(sim):
    alerts = sim.jsonl("expected/deadlines.jsonl")
    mobilities = {m["omobility_id"]: m for m in sim.jsonl("expected/mobilities.jsonl")}
    assert {a["severity"] for a in alerts} == {"WARNING", "BREACH"}
    assert any(a["deadline"] == "TOR_ISSUE" and a["severity"] == "BREACH" for a in alerts)
    for a in alerts:
        m = mobilities[a["omobility_id"]]
        assert "CANCELLED" not in m["lifecycle"]
        if a["deadline"] == "TOR_ISSUE":
            assert a["responsible_hei"] == m["host_hei"]
            if a["severity"] == "BREACH":
                assert m["tor_issued_at"] is None or m["tor_issued_at"][:10] > a["due_on"]
        else:
            assert a["responsible_hei"] == m["home_hei"] and m["tor_issued_at"]
        assert a["raised_at"] <= sim.counts["event_time_horizon"]


def test_sql_sources_have_incrementing_ids_and_updated_at(sim):
    for hei, table, stamp in (("ucn.dk", "v_bedoemmelse", "opdateret"), ("ipbeja.pt", "netpa_avaliacoes", "dt_actualizacao")):
        db = sqlite3.connect(sim.root / hei / ("esas.sqlite" if hei == "ucn.dk" else "netpa.sqlite"))
        ids = [r[0] for r in db.execute(f"SELECT id FROM {table} ORDER BY rowid")]
        assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids
        stamps = [r[0] for r in db.execute(f"SELECT {stamp} FROM {table} ORDER BY id")]
        assert all(len(s) == 19 for s in stamps)
    labels = {r[0] for r in sqlite3.connect(sim.root / "ucn.dk/esas.sqlite").execute("SELECT karakter FROM v_bedoemmelse")}
    assert "02" in labels or "00" in labels


def _unknown(scheme_id: str, label: str | None) -> bool:
    try:
        SCHEMES[scheme_id].normalise(label or "")
    except Exception:  # noqa: BLE001 - UnknownGrade, or no label at all
        return True
    return False


def test_bad_records_of_json_sql_and_uis_sources_are_really_bad(sim):
    root = sim.root
    # OOAPI: each bad association names an unknown offering, score or institution, or breaks a type
    offerings = {json.loads(x)["offeringId"]: json.loads(x) for x in _lines(root / "fontys.nl/ooapi/offerings.jsonl")}
    persons = {json.loads(x)["personId"]: json.loads(x) for x in _lines(root / "fontys.nl/ooapi/persons.jsonl")}
    assoc = {}
    for x in _lines(root / "fontys.nl/ooapi/associations.jsonl"):
        a = json.loads(x)
        assoc.setdefault(a["associationId"], a)
    for b in sim.bad("fontys.nl/sis"):
        a = assoc[b["associationId"]]
        offering = offerings.get(a["offering"]["offeringId"])
        esi = next(c["code"] for c in persons[a["person"]["personId"]]["otherCodes"] if c["codeType"] == "esi")
        assert (offering is None or not isinstance(a["result"]["studyLoad"]["value"], (int, float))
                or _unknown(offering["consumers"][0]["gradingSchemeId"], a["result"]["score"])
                or esi.split(":")[-2] not in SCHAC_CODES), b
    # OData and Peppi: unknown module, unknown grade or a value of the wrong type
    modules = {json.loads(x)["ModuleCode"]: json.loads(x) for x in _lines(root / "thomasmore.be/odata/Modules.jsonl")}
    results = {json.loads(x)["ResultId"]: json.loads(x) for x in _lines(root / "thomasmore.be/odata/Results.jsonl")}
    scale = {"0-20": "thomasmore.be/0-20", "GESLAAGD": "thomasmore.be/pass-fail"}
    for b in sim.bad("thomasmore.be/sis"):
        r = results[b["ResultId"]]
        m = modules.get(r["ModuleCode"])
        assert m is None or not r["Ects"].replace(".", "").isdigit() or _unknown(scale[m["GradingScale"]], r["Grade"]), b
    units = {json.loads(x)["code"]: json.loads(x) for x in _lines(root / "seamk.fi/peppi/course-units.jsonl")}
    attainments = {json.loads(x)["id"]: json.loads(x) for x in _lines(root / "seamk.fi/peppi/attainments.jsonl")}
    for b in sim.bad("seamk.fi/sis"):
        a = attainments[b["id"]]
        u = units.get(a["courseUnitCode"])
        sid = "seamk.fi/0-5" if a["gradeScale"] == "0-5" else "seamk.fi/pass-fail"
        assert u is None or not isinstance(a["credits"], float) or _unknown(sid, a["grade"]), b
    # SQL: NULL grade, unknown course, unknown grade or a student of a non-partner
    for hei, db_file, grades, courses, students, code_col, label_col in (
        ("ucn.dk", "esas.sqlite", "esas_bedoemmelse", "esas_uddannelseselement", "esas_studerende", "elementkode", "karakter"),
        ("ipbeja.pt", "netpa.sqlite", "netpa_avaliacoes", "netpa_disciplinas", "netpa_alunos", "cd_discip", "nota"),
    ):
        db = sqlite3.connect(root / hei / db_file)
        known = {r[0] for r in db.execute(f"SELECT {code_col} FROM {courses}")}
        sid_col = "studienummer" if hei == "ucn.dk" else "cd_aluno"
        esis = dict(db.execute(f"SELECT {sid_col}, esi FROM {students}").fetchall())
        scheme_of = {"7-trinsskala": "ucn.dk/7-point", "bestået/ikke bestået": "ucn.dk/pass-fail", None: "ipbeja.pt/0-20"}
        for b in sim.bad(f"{hei}/sis"):
            assert b["table"] == grades
            row = db.execute(f"SELECT {code_col}, {label_col}, {sid_col}, {'skala' if hei == 'ucn.dk' else 'NULL'} "
                             f"FROM {grades} WHERE id = ?", (b["id"],)).fetchone()
            code, label, sid, skala = row
            assert (label is None or code not in known or _unknown(scheme_of[skala], label)
                    or esis[sid].split(":")[-2] not in SCHAC_CODES), b
    # UIS: a bad record inside a good export names an unknown course or grade
    courses = {p.get("kod"): p.get("stupnice") for p in etree.parse(str(root / "mendelu.cz/predmety.xml")).getroot()}
    for b in sim.bad("mendelu.cz/sis"):
        if b["kind"] in ("broken_xml", "wrong_encoding"):
            continue
        doc = etree.fromstring((root / b["file"]).read_bytes())
        item = next(e for e in doc if e.get("id") == b["id"] and e.tag.endswith("hodnoceni"))
        stupnice = courses.get(item.get("predmet"))
        assert stupnice is None or _unknown(f"mendelu.cz/{stupnice}", item.get("znamka")), b


def test_ladok_grades_carry_no_attempt_number_other_sis_do(sim):
    """Ladok has no attempt number: Halmstad's hub events say 1, as its connector does; other SIS number resits."""
    attempts = defaultdict(set)
    for line in _lines(sim.root / "hub-events.jsonl"):
        e = json.loads(line)
        if e["event_type"] == "Grade":
            attempts[e["source_hei"]].add(e["attempt"])
    assert attempts["hh.se"] == {1}
    assert any(2 in a for hei, a in attempts.items() if hei != "hh.se")
