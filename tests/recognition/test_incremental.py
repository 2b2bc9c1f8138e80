"""What the rules keep between events (course views, registrar chains) never changes a decision.

Each scenario runs twice: in one live state, and with the state reloaded from its
JSON form before every event (a loaded state keeps none of what the rules remember
between events).  Both must give the same decisions, and a stored state made by the
code before those memories existed must still load and decide as it did then.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

from schemas.canonical import from_json, to_json
from schemas.models import DecisionStatus as S
from streams.recognition import StudentRecognition
from streams.runtime import tune_gc
from tests.recognition.factory import Student, comp, la

DATA = Path(__file__).parent / "data"


def live(esi: str, events) -> list:
    state = StudentRecognition(esi)
    return [d for e in events for d in state.apply(e)]


def reloaded(esi: str, events) -> list:
    out, stored = [], None
    for e in events:
        state = StudentRecognition.from_dict(json.loads(stored)) if stored else StudentRecognition(esi)
        out.extend(state.apply(e))
        stored = json.dumps(state.to_dict())
    return out


def same_both_ways(esi: str, events) -> list:
    got = live(esi, events)
    assert [to_json(d) for d in got] == [to_json(d) for d in reloaded(esi, events)]
    return got


def test_a_registrar_decision_changes_only_the_component_it_names():
    s = Student(mobility="M-reviewed")  # event ids derive from the mobility id: LA versions differ between tests
    two = la(1, [comp("TM1"), comp("TM2")], [comp("F1", 6, conditions="portfolio"), comp("F2", 4, conditions="essay")],
             groups=[("g1", ["TM1"], ["F1"]), ("g2", ["TM2"], ["F2"])])
    events = [s.mobility("NOMINATED"), s.approved(two, day=1), s.grade("TM1", "15"), s.grade("TM2", "13", day=101)]
    reviews = {d.home_component: d for d in live(s.esi, events)}
    assert {c: d.status for c, d in reviews.items()} == {"F1": S.NEEDS_REVIEW, "F2": S.NEEDS_REVIEW}
    approve_f2 = s.registrar(reviews["F2"].decision_id, "F2", day=200)
    out = same_both_ways(s.esi, events + [approve_f2])
    assert [(d.home_component, d.status) for d in out[2:]] == [("F2", S.MANUALLY_RECOGNISED)]
    manual = out[-1]
    # a registrar acting on the manual decision it sees, then one naming an id no component has
    reject = s.registrar(manual.decision_id, "F2", "REJECT", day=210)
    stale = s.registrar("0" * 24, "F1", day=220)
    out = same_both_ways(s.esi, events + [approve_f2, reject, stale])
    assert [(d.home_component, d.status, d.supersedes) for d in out[3:]] == [
        ("F2", S.REJECTED, manual.decision_id)]


def test_a_result_corrected_into_another_course_leaves_the_first():
    s = Student(mobility="M-moved")
    events = [
        s.mobility("NOMINATED"), s.approved(la(1, [comp("TM1"), comp("TM2")], [comp("F1", 6), comp("F2", 4)],
                                                groups=[("g1", ["TM1"], ["F1"]), ("g2", ["TM2"], ["F2"])]), day=1),
        s.grade("TM1", "15", result="r1"),
        s.grade("TM2", "14", result="r1", status="CORRECTED", day=110),  # the same result, now for TM2
    ]
    out = same_both_ways(s.esi, events)
    last = {d.home_component: d for d in out}
    assert last["F2"].status is S.AUTO_RECOGNISED
    assert last["F1"].status is S.REVOKED and last["F1"].supersedes == out[0].decision_id


def test_two_mobilities_at_one_host_share_its_results_by_owner():
    s = Student(mobility="M-first")
    other = Student(code="s1", mobility="M-second")  # the same student, a second mobility to the same host
    agreement = la(1, [comp("TM1")], [comp("F1", 6)])
    events = [s.mobility("NOMINATED"), s.approved(agreement, day=1), s.grade("TM1", "15", result="a"),
              other.mobility("NOMINATED", day=2), other.approved(la(1, [comp("TM2")], [comp("F2", 4)]), day=3),
              s.grade("TM2", "13", result="b", day=105), s.grade("TM1", "16", result="a", status="CORRECTED", day=106)]
    out = same_both_ways(s.esi, events)
    last = {(d.omobility_id, d.home_component): d for d in out}
    assert last[("M-first", "F1")].converted_grade and last[("M-second", "F2")].status is S.AUTO_RECOGNISED


def test_a_state_stored_before_course_views_loads_and_decides_as_then():
    stored = json.loads((DATA / "state_c900e8f.json").read_text())
    state = StudentRecognition.from_dict(stored["state"])
    assert state.to_dict() == stored["state"]  # the layout is unchanged
    events = [from_json(json.dumps(e)) for e in stored["events"]]
    got = [json.loads(to_json(d)) for e in events for d in state.apply(e)]
    assert got == stored["decisions"]


def test_states_stored_by_the_code_before_compact_facts_load_and_decide_as_then():
    """Five bench students (two LA versions, a registrar decision, a course outside the LA, a correction,
    a cancellation), stored by commit 272533f before their last events."""
    stored = json.loads((DATA / "state_272533f.json").read_text())
    assert len(stored["students"]) == 5
    for student in stored["students"]:
        state = StudentRecognition.from_dict(student["state"])
        assert json.loads(json.dumps(state.to_dict())) == student["state"]  # the layout is unchanged
        events = [from_json(json.dumps(e)) for e in student["events"]]
        got = [json.loads(to_json(d)) for e in events for d in state.apply(e)]
        assert got == student["decisions"] and got


def test_tune_gc_freezes_what_exists_and_collects_young_objects_less_often():
    before_threshold = gc.get_threshold()
    before_frozen = gc.get_freeze_count()
    try:
        old = tune_gc(60_000)
        assert old == before_threshold
        assert gc.get_threshold()[0] == max(60_000, before_threshold[0])
        assert gc.get_threshold()[1:] == before_threshold[1:]
        assert gc.get_freeze_count() > before_frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*before_threshold)


def test_the_common_case_path_decides_as_the_general_rules(monkeypatch):
    """auto.py builds AUTO_RECOGNISED decisions directly; MobilityRules.decide + build_decision must give the same bytes."""
    import streams.recognition.rules as rules_module
    from bench.recognition import generate
    from streams.recognition import RecognitionEngine
    from streams.recognition.decisions import build_decision

    events = generate(120, seed=5)
    fast = [to_json(d) for d in RecognitionEngine().run(events)]
    calls = []

    def general(rules, la, code, b, previous, esi, trace_id):
        d = rules.decide("B:" + code)
        calls.append(d.rule)
        m = rules.m
        event = None if previous is not None and previous[0] == d.id else build_decision(
            d, omobility_id=m.omobility_id, student_esi=esi, home_hei=m.sending_hei, host_hei=m.receiving_hei,
            previous=previous[:2] if previous else None, trace_id=trace_id)
        return d.id, d.rule, event

    monkeypatch.setattr(rules_module, "auto_recognised", general)
    slow = [to_json(d) for d in RecognitionEngine().run(events)]
    assert {"R2-all-passed", "R4-corrected"} <= set(calls)
    assert len(calls) > 100
    assert fast == slow


def test_a_tor_works_out_only_the_groups_that_did_not_all_pass(monkeypatch):
    """A ToR re-decides only the current version's groups not all passed; re-deciding every key gives the same bytes."""
    from bench.recognition import generate
    from schemas.models import Mobility
    from streams.recognition import RecognitionEngine

    events = generate(200, seed=11)
    assert sum(1 for e in events if isinstance(e, Mobility) and e.lifecycle.value == "TOR_ISSUED") > 100
    chosen = []
    original = StudentRecognition._tor_keys

    def counted(self, m):
        keys = original(self, m)
        chosen.append((len(keys), len(self._open_keys(m, None)), len(m.las)))
        return keys

    monkeypatch.setattr(StudentRecognition, "_tor_keys", counted)
    fast = [to_json(d) for d in RecognitionEngine().run(events)]
    assert any(k == 0 < every for k, every, _ in chosen) and any(0 < k < every for k, every, _ in chosen)
    assert any(k < every and versions > 1 for k, every, versions in chosen)
    monkeypatch.setattr(StudentRecognition, "_tor_keys", lambda self, m: self._open_keys(m, None))
    assert [to_json(d) for d in RecognitionEngine().run(events)] == fast


def test_a_registrar_decision_works_out_only_the_emitted_keys_whose_chain_names_it(monkeypatch):
    """Re-deciding every open key of the mobility on each registrar decision gives the same bytes."""
    from bench.recognition import generate
    from schemas.models import RegistrarDecision
    from streams.recognition import RecognitionEngine

    events = generate(200, seed=13)
    assert sum(1 for e in events if isinstance(e, RegistrarDecision)) > 30
    chosen = []
    original = StudentRecognition._recompute

    def recompute(self, m, codes, trigger, keys=None):
        if type(trigger) is RegistrarDecision:
            chosen.append(len(keys))
        return original(self, m, codes, trigger, keys)

    monkeypatch.setattr(StudentRecognition, "_recompute", recompute)
    fast = [to_json(d) for d in RecognitionEngine().run(events)]
    assert chosen and max(chosen) <= 1 and chosen.count(1) > 30

    def every_key(self, m, codes, trigger, keys=None):
        return original(self, m, codes, trigger, None if type(trigger) is RegistrarDecision else keys)

    monkeypatch.setattr(StudentRecognition, "_recompute", every_key)
    assert [to_json(d) for d in RecognitionEngine().run(events)] == fast
