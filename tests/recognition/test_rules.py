"""Recognition rules 1-6, one scenario per row, run through the real state machine."""

from __future__ import annotations

import json
import uuid

import pytest

from schemas.models import DecisionStatus as S
from streams.recognition import RecognitionEngine, StudentRecognition
from tests.recognition.factory import Student, at, comp, la

TWO_GROUPS = la(1, [comp("TM1", 5), comp("TM2", 5)], [comp("F1", 6, "Databases"), comp("F2", 4, "Networks")],
                groups=[("g1", ["TM1"], ["F1"]), ("g2", ["TM2"], ["F2"])])


def run(events, engine=None):
    engine = engine or RecognitionEngine()
    out = []
    for e in events:
        out.extend(engine.apply(e))
    return out


def final(decisions):
    last = {}
    for d in decisions:
        last[(d.omobility_id, d.home_component)] = d
    return last


def start(s: Student, agreement=TWO_GROUPS):
    return [s.mobility("NOMINATED"), s.approved(agreement, day=1), s.mobility("STARTED", 20)]


def test_all_passed_recognises_table_b_ects_with_a_converted_grade():
    s = Student()
    out = run(start(s) + [s.grade("TM1", "15"), s.grade("TM2", "13", day=101)])
    assert [(d.home_component, d.status, d.ects, d.converted_grade, d.rule) for d in out] == [
        ("F1", S.AUTO_RECOGNISED, 6, "8", "R2-all-passed"), ("F2", S.AUTO_RECOGNISED, 4, "7", "R2-all-passed")]
    d = out[0]
    assert d.home_scheme_id == "fontys.nl/1-10" and d.home_component_title == "Databases"
    assert d.version == 1 and d.supersedes is None
    assert d.provenance.group_id == "g1" and d.provenance.la_version == 1
    assert [g.grade_label for g in d.provenance.host_grades] == ["15"]
    assert d.provenance.conversion.home_band.label == "8"
    assert "TM1 passed at thomasmore.be (15)" in d.reason and "6 ECTS recognised" in d.reason


def test_envelope_is_derived_from_the_inputs():
    s = Student()
    g = s.grade("TM1", "15", day=100)
    d = run(start(s) + [g])[0]
    assert d.source_hei == "fontys.nl" and d.home_hei == "fontys.nl" and d.host_hei == "thomasmore.be"
    assert d.occurred_at == d.recorded_at == at(100)
    assert d.event_id == str(uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "https://heroes-hub.eu/recognition/decisions"), d.decision_id))
    assert d.trace_id == g.trace_id
    assert d.provenance.input_event_ids == (g.event_id,)
    assert run(start(s) + [g])[0] == d  # replay: the same decision, id and envelope


def test_implicit_groups_need_all_of_table_a_and_use_the_weighted_midpoint():
    s = Student()
    agreement = la(1, [comp("TM1", 5), comp("TM2", 10)], [comp("F1", 9), comp("F2", 6)])
    out = run(start(s, agreement) + [s.grade("TM1", "15", ects=5)])
    assert out == []
    out = run(start(s, agreement) + [s.grade("TM1", "15", ects=5), s.grade("TM2", "13", ects=10)])
    assert {d.home_component: (d.status, d.ects, d.converted_grade) for d in out} == {
        "F1": (S.AUTO_RECOGNISED, 9, "8"), "F2": (S.AUTO_RECOGNISED, 6, "8")}
    assert out[0].provenance.conversion.method.value == "WEIGHTED_MIDPOINT"
    assert out[0].provenance.group_id == "implicit:F1"
    assert "All 2 components passed at thomasmore.be (TM1 15, TM2 13)" in out[0].reason


def test_recognition_conditions_send_the_component_to_review():
    s = Student()
    agreement = la(1, [comp("TM1")], [comp("F1", 6, conditions="oral exam at home")])
    d = run(start(s, agreement) + [s.grade("TM1", "15")])[0]
    assert (d.status, d.ects, d.converted_grade, d.rule) == (S.NEEDS_REVIEW, 0, None, "R2-conditions")
    assert "oral exam at home" in d.reason and "as 8" in d.reason
    assert d.provenance.conversion is not None


def test_a_failing_grade_keeps_the_group_pending_and_a_resit_supersedes_it():
    s = Student()
    events = start(s) + [s.grade("TM1", "8")]
    assert run(events) == []
    out = run(events + [s.grade("TM1", "14", attempt=2, day=130)])
    assert [(d.home_component, d.status, d.converted_grade) for d in out] == [("F1", S.AUTO_RECOGNISED, "8")]
    assert out[0].provenance.host_grades[0].attempt == 2


@pytest.mark.parametrize(("grades", "status", "rule", "named"), [
    ([("TM1", "8")], S.NOT_RECOGNISED, "R3-failed-at-tor", "TM1 (8) failed"),
    ([], S.NEEDS_REVIEW, "R3-missing-at-tor", "TM1 has no result"),
])
def test_at_tor_undecided_groups_are_closed(grades, status, rule, named):
    s = Student()
    out = run(start(s) + [s.grade(c, g) for c, g in grades] + [s.grade("TM2", "12"), s.mobility("TOR_ISSUED", 150)])
    last = final(out)
    d = last[("M1", "F1")]
    assert (d.status, d.rule, d.ects, d.converted_grade) == (status, rule, 0, None)
    assert named in d.reason
    assert last[("M1", "F2")].status is S.AUTO_RECOGNISED


def test_a_resit_after_the_tor_supersedes_not_recognised():
    s = Student()
    out = run(start(s) + [s.grade("TM1", "8"), s.mobility("TOR_ISSUED", 150), s.grade("TM1", "11", attempt=2, day=170)])
    f1 = [d for d in out if d.home_component == "F1"]
    assert [(d.status, d.version) for d in f1] == [(S.NOT_RECOGNISED, 1), (S.AUTO_RECOGNISED, 2)]
    assert f1[1].supersedes == f1[0].decision_id


def test_a_grade_outside_the_learning_agreement_needs_review():
    s = Student()
    d = run(start(s) + [s.grade("TM9", "14", ects=3)])[0]
    assert (d.home_component, d.status, d.rule, d.ects) == ("TM9", S.NEEDS_REVIEW, "R1-outside-la", 0)
    assert "outside the learning agreement" in d.reason and "3 ECTS" in d.reason


def test_grades_before_their_mobility_or_la_are_held():
    s = Student()
    early = [s.grade("TM1", "15", day=100), s.grade("TM2", "13", day=101)]
    assert run(early) == []
    assert run(early + [s.mobility("NOMINATED")]) == []
    out = run(early + [s.mobility("NOMINATED"), s.approved(TWO_GROUPS, day=102)])
    assert [(d.home_component, d.status) for d in out] == [("F1", S.AUTO_RECOGNISED), ("F2", S.AUTO_RECOGNISED)]


def test_home_results_and_other_mobilities_grades_are_not_host_grades():
    s = Student()
    out = run(start(s) + [s.grade("TM1", "9", hei="fontys.nl", scheme="fontys.nl/1-10"),
                          s.grade("TM1", "15", omobility_id="OTHER")])
    assert out == []


@pytest.mark.parametrize(("second", "status", "rule", "grade"), [
    (dict(label="13", status="CORRECTED", day=120), S.AUTO_RECOGNISED, "R4-corrected", "7"),
    (dict(label="8", status="CORRECTED", day=120), S.REVOKED, "R4-corrected", None),
    (dict(label="15", status="REVOKED", day=120), S.REVOKED, "R4-revoked", None),
])
def test_corrections_and_revocations_supersede_the_decision(second, status, rule, grade):
    s = Student()
    first = s.grade("TM1", "15", result="R1")
    out = run(start(s) + [first, s.grade("TM1", result="R1", **second)])
    f1 = [d for d in out if d.home_component == "F1"]
    assert [d.version for d in f1] == [1, 2]
    assert (f1[1].status, f1[1].rule, f1[1].converted_grade) == (status, rule, grade)
    assert f1[1].supersedes == f1[0].decision_id
    if status is S.REVOKED:
        assert f1[1].ects == 0


def test_a_revoked_result_stays_revoked_at_the_tor():
    s = Student()
    out = final(run(start(s) + [s.grade("TM1", "15", result="R1"), s.grade("TM1", "15", result="R1", status="REVOKED", day=110),
                                s.mobility("TOR_ISSUED", 150)]))
    assert (out[("M1", "F1")].status, out[("M1", "F1")].rule) == (S.REVOKED, "R4-revoked")


def test_a_new_la_version_redecides_every_group():
    s = Student()
    v2 = la(2, [comp("TM1", 5), comp("TM3", 5)], [comp("F1", 6, "Databases"), comp("F3", 5)],
            groups=[("g1", ["TM1"], ["F1"]), ("g3", ["TM3"], ["F3"])])
    out = run(start(s) + [s.grade("TM1", "15"), s.grade("TM2", "13"), s.approved(v2, day=110), s.grade("TM3", "16", day=120)])
    last = final(out)
    assert [d.home_component for d in out].count("F1") == 1  # unchanged by v2: not emitted again
    assert (last[("M1", "F2")].status, last[("M1", "F2")].rule) == (S.REVOKED, "R4-left-table-b")
    assert "left Table B in LA version 2" in last[("M1", "F2")].reason
    assert last[("M1", "F3")].status is S.AUTO_RECOGNISED and last[("M1", "F3")].converted_grade == "9"
    assert last[("M1", "TM2")].rule == "R1-outside-la"  # TM2 left Table A: its grade is now outside the LA


def test_a_group_that_grows_withdraws_its_decision_until_the_new_component_passes():
    s = Student()
    v2 = la(2, [comp("TM1"), comp("TM2"), comp("TM3")], [comp("F1", 6), comp("F2", 4)],
            groups=[("g1", ["TM1", "TM3"], ["F1"]), ("g2", ["TM2"], ["F2"])])
    out = run(start(s) + [s.grade("TM1", "15"), s.approved(v2, day=110)])
    assert [(d.status, d.rule) for d in out] == [(S.AUTO_RECOGNISED, "R2-all-passed"), (S.REVOKED, "R4-la-changed")]
    assert "TM3" in out[1].reason
    out = run(start(s) + [s.grade("TM1", "15"), s.approved(v2, day=110), s.grade("TM3", "15", day=120)])
    assert (out[-1].status, out[-1].version) == (S.AUTO_RECOGNISED, 3)


def test_a_course_added_to_table_a_withdraws_its_outside_the_la_item():
    s = Student()
    v2 = la(2, [comp("TM1"), comp("TM2"), comp("TM9")], [comp("F1", 6), comp("F2", 4)],
            groups=[("g1", ["TM1"], ["F1"]), ("g2", ["TM2", "TM9"], ["F2"])])
    out = final(run(start(s) + [s.grade("TM9", "14"), s.approved(v2, day=110)]))
    assert (out[("M1", "TM9")].status, out[("M1", "TM9")].rule) == (S.REVOKED, "R4-la-changed")


def test_a_cancelled_mobility_revokes_its_decisions():
    s = Student()
    out = run(start(s) + [s.grade("TM1", "15"), s.grade("TM9", "12"), s.mobility("CANCELLED", 130)])
    last = final(out)
    assert {k[1]: (d.status, d.rule) for k, d in last.items()} == {
        "F1": (S.REVOKED, "R4-cancelled"), "F2": (S.REVOKED, "R4-cancelled"), "TM9": (S.REVOKED, "R4-cancelled")}
    assert all(d.ects == 0 for d in last.values())
    assert [d.version for d in out if d.home_component == "F2"] == [1]  # F2 was pending: closed all the same


def test_a_component_dropped_before_any_result_is_closed_as_left_table_b():
    s = Student()
    v2 = la(2, [comp("TM1")], [comp("F1", 6)], groups=[("g1", ["TM1"], ["F1"])])
    out = run(start(s) + [s.approved(v2, day=10)])
    assert [(d.home_component, d.status, d.rule, d.version) for d in out] == [("F2", S.REVOKED, "R4-left-table-b", 1)]
    assert out[0].home_component_title == "Networks"


def _reviewed(s: Student):
    agreement = la(1, [comp("TM1")], [comp("F1", 6, "Databases", conditions="portfolio")])
    events = start(s, agreement) + [s.grade("TM1", "15")]
    return events, run(events)[0]


@pytest.mark.parametrize(("kwargs", "status", "ects", "grade", "note"), [
    (dict(action="APPROVE"), S.MANUALLY_RECOGNISED, 6, "8", ""),
    (dict(action="APPROVE", ects=4, grade="9"), S.MANUALLY_RECOGNISED, 4, "9", ""),
    (dict(action="APPROVE", ects=10), S.MANUALLY_RECOGNISED, 6, "8", "capped at the 6 ECTS"),
    (dict(action="APPROVE", grade="11"), S.MANUALLY_RECOGNISED, 6, None, "not a fontys.nl/1-10 label"),
    (dict(action="REJECT", reason="portfolio missing"), S.REJECTED, 0, None, "portfolio missing"),
])
def test_a_registrar_decides_a_review_item(kwargs, status, ects, grade, note):
    s = Student()
    events, review = _reviewed(s)
    out = run(events + [s.registrar(review.decision_id, "F1", who="anna", **kwargs)])
    d = out[-1]
    assert (d.status, d.ects, d.converted_grade, d.decided_by, d.version) == (status, ects, grade, "anna", 2)
    assert d.rule == ("R6-manual-approve" if status is S.MANUALLY_RECOGNISED else "R6-manual-reject")
    assert d.supersedes == review.decision_id and note in d.reason


def test_the_latest_registrar_decision_counts_and_a_stale_one_changes_nothing():
    s = Student()
    events, review = _reviewed(s)
    approve = s.registrar(review.decision_id, "F1", day=200)
    out = run(events + [approve])
    manual = out[-1]
    reject = s.registrar(manual.decision_id, "F1", "REJECT", day=210, reason="wrong course")
    assert run(events + [approve, reject])[-1].status is S.REJECTED
    assert run(events + [reject, approve])[-1].status is S.REJECTED  # by time, not arrival
    stale = s.registrar("0" * 24, "F1", day=220)
    assert run(events + [approve, stale])[-1] == manual
    # a registrar decision on an automatic recognition is not a review: nothing happens
    s2 = Student(code="s2")
    auto = run(start(s2) + [s2.grade("TM1", "15")])[0]
    engine = RecognitionEngine()
    run(start(s2) + [s2.grade("TM1", "15")], engine)
    assert engine.apply(s2.registrar(auto.decision_id, "F1", "REJECT")) == []


def test_a_registrar_decision_before_its_mobility_waits():
    s = Student()
    events, review = _reviewed(s)
    out = run([s.registrar(review.decision_id, "F1")] + events)
    assert [d.status for d in out] == [S.MANUALLY_RECOGNISED]


def test_duplicates_change_nothing():
    s = Student()
    engine = RecognitionEngine()
    events = start(s) + [s.grade("TM1", "15"), s.mobility("TOR_ISSUED", 150)]
    first = run(events, engine)
    assert first and run(events, engine) == []


def test_halmstad_recognises_without_a_home_grade_and_pass_fail_hosts_give_none():
    s = Student(home="hh.se", host="ucn.dk")
    agreement = la(1, [comp("U1"), comp("U2")], [comp("H1", 7.5), comp("H2", 5)], groups=[("a", ["U1"], ["H1"]), ("b", ["U2"], ["H2"])])
    out = run(start(s, agreement) + [s.grade("U1", "12"), s.grade("U2", "bestået", scheme="ucn.dk/pass-fail")])
    assert [(d.status, d.ects, d.converted_grade, d.provenance.conversion.method.value) for d in out] == [
        (S.AUTO_RECOGNISED, 7.5, None, "NONE"), (S.AUTO_RECOGNISED, 5, None, "NONE")]
    assert "records recognised credits as pass/fail" in out[0].reason
    s = Student(home="th-deg.de", host="seamk.fi")
    d = run(start(s, agreement) + [s.grade("U1", "hyväksytty", scheme="seamk.fi/pass-fail")])[0]
    assert (d.converted_grade, d.provenance.conversion.method.value) == (None, "PASS_FAIL")


HOSTS = {  # host -> (passing label, failing label) in its default scheme
    "thomasmore.be": ("14", "9"), "fontys.nl": ("7", "5,4"), "ucn.dk": ("02", "00"), "ipbeja.pt": ("10", "9"),
    "th-deg.de": ("1,3", "Fristen-5"), "hh.se": ("VG", "U"), "seamk.fi": ("3", "hylätty"), "viko.lt": ("5", "4"),
    "mendelu.cz": ("1,5", "F"),
}


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_every_partner_as_host(host):
    home = "mendelu.cz" if host != "mendelu.cz" else "th-deg.de"
    s = Student(home=home, host=host, isced=None)
    good, bad = HOSTS[host]
    out = final(run(start(s) + [s.grade("TM1", good), s.grade("TM2", bad), s.mobility("TOR_ISSUED", 150)]))
    assert out[("M1", "F1")].status is S.AUTO_RECOGNISED and out[("M1", "F1")].converted_grade is not None
    assert out[("M1", "F2")].status is S.NOT_RECOGNISED


def test_an_unreadable_grade_is_never_guessed():
    s = Student(home="fontys.nl", host="ucn.dk")
    out = final(run(start(s) + [s.grade("TM1", "2"), s.grade("TM2", "02"), s.mobility("TOR_ISSUED", 150)]))
    d = out[("M1", "F1")]
    assert (d.status, d.rule) == (S.NEEDS_REVIEW, "R3-missing-at-tor")
    assert "unreadable grade TM1 '2' (ucn.dk/7-point)" in d.reason


def test_state_survives_a_json_round_trip_mid_stream():
    s = Student()
    events = start(s) + [s.grade("TM1", "8"), s.grade("TM9", "12"), s.mobility("TOR_ISSUED", 150)]
    later = [s.grade("TM1", "15", attempt=2, day=160), s.grade("TM2", "13", day=161)]
    whole = StudentRecognition(s.esi)
    expected = [d for e in events + later for d in whole.apply(e)]
    first = StudentRecognition(s.esi)
    got = [d for e in events for d in first.apply(e)]
    restored = StudentRecognition.from_dict(json.loads(json.dumps(first.to_dict())))
    got += [d for e in later for d in restored.apply(e)]
    assert got == expected
    assert restored.to_dict() == whole.to_dict()


def test_an_la_version_that_arrives_after_later_results_withdraws_what_they_decided():
    s = Student()
    v2 = la(2, [comp("TM1"), comp("TM2"), comp("TM3")], [comp("F1", 6), comp("F2", 4)],
            groups=[("g1", ["TM1", "TM3"], ["F1"]), ("g2", ["TM2"], ["F2"])])
    late = run(start(s) + [s.grade("TM1", "15", day=120), s.approved(v2, day=110)])  # v2 approved before the grade
    assert [(d.status, d.rule) for d in late] == [(S.AUTO_RECOGNISED, "R2-all-passed"), (S.REVOKED, "R4-withdrawn")]
    assert "waits for a passing result of TM3" in late[1].reason
    assert run(start(s) + [s.approved(v2, day=110), s.grade("TM1", "15", day=120)]) == []  # in time order: nothing


def test_built_decisions_equal_their_validated_canonical_json():
    from schemas.canonical import from_json, to_json
    from schemas.models import RecognitionDecision

    s = Student()
    events, review = _reviewed(s)
    out = run(start(s) + [s.grade("TM1", "15"), s.grade("TM9", "12"), s.mobility("TOR_ISSUED", 150)])
    out += run(events + [s.registrar(review.decision_id, "F1", ects=4)])
    for d in out:
        assert from_json(to_json(d)) == d
        assert RecognitionDecision.model_validate(d.model_dump()) == d


def test_decision_builders_set_every_field_of_their_models():
    from schemas.models import HostGrade, Provenance, RecognitionDecision
    from streams.recognition import decisions

    assert decisions._HOST_GRADE_FIELDS == set(HostGrade.model_fields)
    assert decisions._PROVENANCE_FIELDS == set(Provenance.model_fields)
    assert decisions._DECISION_FIELDS == set(RecognitionDecision.model_fields)
    s = Student()
    out = run(start(s) + [s.grade("TM1", "15")])
    assert out and all(d.model_fields_set == set(RecognitionDecision.model_fields) for d in out)
    assert all(h.model_fields_set == set(HostGrade.model_fields) for d in out for h in d.provenance.host_grades)
