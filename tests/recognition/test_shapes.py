"""LA versions of one shape share their lookups; what a mobility keeps of its versions follows them."""

from __future__ import annotations

from decimal import Decimal

from schemas.canonical import to_json
from streams.recognition import StudentRecognition
from streams.recognition import shapes
from streams.recognition.facts import LaFact
from tests.recognition.factory import Student, comp, la


def _agreement(conditions: str | None = None, title: str = "Course B1"):
    return la(1, [comp("H1"), comp("H2")], [comp("B1", title=title, conditions=conditions), comp("B2")],
              [("g1", ["H1"], ["B1"]), ("g2", ["H2"], ["B2"])])


def test_versions_of_one_shape_share_lookups_but_keep_their_own_components():
    first = LaFact(_agreement(), "e1", 1)
    second = LaFact(_agreement(title="Another title"), "e2", 2)
    assert first.groups is second.groups and first.need_keys is second.need_keys and first.extra is second.extra
    assert first.table_b["B1"].title == "Course B1" and second.table_b["B1"].title == "Another title"
    assert first.groups == {"B1": ("g1", ("H1",)), "B2": ("g2", ("H2",))}
    assert first.need_keys == {"H1": ("B:B1",), "H2": ("B:B2",)}
    conditioned = LaFact(_agreement(conditions="portfolio"), "e3", 3)
    assert conditioned.extra is not first.extra
    assert conditioned.extra["B1"] == "g1|H1|portfolio" and first.extra["B1"] == "g1|H1|"


def test_a_version_read_back_from_its_row_holds_what_the_rules_read():
    agreement = la(2, [comp("H1", ects="7.5", title="Host one", isced="0613"), comp("H2", ects="0.1")],
                   [comp("B1", conditions="portfolio", ects="12.5"), comp("B2", ects="0.1")],
                   [("g1", ["H1"], ["B1"]), ("g2", ["H2"], ["B2"])])
    made = LaFact(agreement, "e1", 5)
    again = LaFact.from_dict(made.to_dict())
    assert made.a_isced == again.a_isced == {"H1": "0613", "H2": None}
    fields = ("course_code", "title", "ects", "isced_code", "recognition_conditions")
    ours, theirs = made.table_b, again.table_b
    assert list(ours) == list(theirs)
    assert [[getattr(c, f) for f in fields] for c in ours.values()] == [[getattr(c, f) for f in fields] for c in theirs.values()]
    assert again.table_b["B2"].ects == Decimal("0.10") and again.table_b["B1"].ects == Decimal("12.50")
    assert (again.version, again.order, again.groups, again.need_keys, again.extra) == \
        (made.version, made.order, made.groups, made.need_keys, made.extra)
    assert again.to_dict() == made.to_dict()


def test_a_shape_cache_emptied_between_events_decides_the_same(monkeypatch):
    s = Student(mobility="M-shapes")
    events = [s.approved(la(1, [comp("H1"), comp("H2")], [comp("B1")])), s.grade("H1", "15"), s.grade("H2", "14")]
    state = StudentRecognition(s.esi)
    kept = [to_json(d) for e in events for d in state.apply(e)]
    monkeypatch.setattr(shapes, "SHAPES_SIZE", 0)  # every shape is worked out anew, the cache emptied each time
    state = StudentRecognition(s.esi)
    anew = [to_json(d) for e in events for d in state.apply(e)]
    assert anew == kept and len(kept) == 1 and '"status":"AUTO_RECOGNISED"' in kept[0]


def test_older_versions_are_worked_out_again_when_a_version_arrives():
    s = Student(mobility="M-older")
    state = StudentRecognition(s.esi)
    state.apply(s.approved(la(1, [comp("H1")], [comp("B1")]), day=1))
    state.apply(s.approved(la(2, [comp("H1"), comp("H2")], [comp("B1")]), day=5))
    m = state.facts.mobilities["M-older"]
    older = state._older(m)
    assert [(la_.version, cutoff) for la_, cutoff in older] == [(1, m.las[2].occ)]
    assert state._older(m) is older  # kept while the versions stay
    state.apply(s.approved(la(3, [comp("H1"), comp("H2"), comp("H3")], [comp("B1")]), day=9))
    assert [(la_.version, cutoff) for la_, cutoff in state._older(m)] == [(2, m.las[3].occ), (1, m.las[3].occ)]
