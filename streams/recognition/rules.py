"""The recognition state machine (DESIGN.md §6): one student's facts in, changed decisions out.

The rules themselves are evaluated in ``evaluate.py`` (see its docstring for rules 1-6).

``StudentRecognition`` is the unit of state (hub topics are keyed by student ESI and
co-partitioned, so one student's mobilities, grades and decisions live together).
``apply(event)`` folds a Mobility, Grade or RegistrarDecision into the facts,
re-evaluates the affected mobility and returns only the decisions whose content
changed since the last one emitted for that (mobility, component); a duplicate
returns nothing.  ``to_dict()`` / ``from_dict()`` give a JSON-compatible form for a
faust table.

Grades are matched to a mobility by host institution (``grade.hei ==
receiving_hei``), by ``omobility_id`` when the grade carries one, and by course
code; a grade that arrives before its mobility or LA is held until they do.  A
student's own home results are not host grades and are dropped.
"""

from __future__ import annotations

from schemas.models import Grade, Mobility, MobilityLifecycle, RecognitionDecision, RegistrarDecision

from .auto import auto_recognised
from .conversion import Converter, converter_for
from .decisions import build_decision
from .facts import (MAX_HELD_GRADES, MAX_REGISTRAR, GradeFact, MobilityFacts, Moment, RegistrarFact,
                    StudentFacts, millis)
from .evaluate import MobilityRules
from .keys import OpenKeys
from .views import CourseView
from .tables import GradingTables

__all__ = ["StudentRecognition", "apply"]

_LA = (MobilityLifecycle.LA_APPROVED, MobilityLifecycle.LA_CHANGED)
_NO_CHAIN: frozenset[str] = frozenset()
_TOR, _CANCELLED = MobilityLifecycle.TOR_ISSUED, MobilityLifecycle.CANCELLED


class StudentRecognition(OpenKeys):
    """All recognition state of one student; see the module docstring."""

    __slots__ = ("facts", "converter")

    def __init__(self, esi: str, tables: GradingTables | None = None, *, converter: Converter | None = None):
        self.facts = StudentFacts(esi)
        self.converter = converter or converter_for(tables)

    @property
    def esi(self) -> str:
        return self.facts.esi

    def apply(self, event: Mobility | Grade | RegistrarDecision) -> list[RecognitionDecision]:
        """Fold one event in; return the decisions it changes (often none)."""
        handler = _HANDLERS.get(type(event))
        if handler is None:
            if isinstance(event, Grade):
                return self._grade(event)
            if isinstance(event, Mobility):
                return self._mobility(event)
            if isinstance(event, RegistrarDecision):
                return self._registrar(event)
            return []
        return handler(self, event)

    # --- events ---------------------------------------------------------------

    def _grade(self, g: Grade) -> list[RecognitionDecision]:
        facts = self.facts
        v = g.__dict__  # the event's fields, read as GradeFact.from_fields reads them
        hei = v["hei"]
        key = hei + "\x1f" + v["result_id"]  # facts.result_key
        old = facts.grades.get(key)
        if old is not None and old.event_id == v["event_id"]:  # the same event again: it is already folded in
            return []
        if hei == facts.issuer:  # facts.is_home_result, inline
            return []
        for o in facts.mobilities.values():
            if o.sending_hei == hei:
                return []
        stored = GradeFact.from_fields(v)
        if old is None:
            codes = {stored.course_code}
            grades = facts.grades  # facts.merge_grade of a new result
            grades[key] = stored
            if len(grades) > MAX_HELD_GRADES:
                facts._bound()
                if key not in grades:  # dropped at once as the oldest held result
                    return []
            in_place = True
        else:
            codes = {stored.course_code, old.course_code}
            was = (old.course_code, old.omobility_id)
            if not old.merge(stored):
                return []
            stored = old  # merged in place
            in_place = was == (stored.course_code, stored.omobility_id)
        if len(facts.mobilities) == 1:  # most students: one mobility, which owns the result or not
            m = next(iter(facts.mobilities.values()))
            if m.receiving_hei != stored.hei:
                return []
            if not in_place:  # the result may have left the view or moved in it
                m.view = None
            if stored.omobility_id is not None and stored.omobility_id != m.omobility_id:
                return []
            view = m.view
            if view is not None:
                if old is not None and stored in view.by_code.get(stored.course_code, ()):
                    view.changed(stored)
                else:
                    view.added(stored)
            if not m.las:
                return []
            # most results change no decision, which the keys they can open tell before any evaluation
            keys = self._open_keys(m, codes)
            return self._recompute(m, None, g, keys) if keys else []
        self._update_views(stored, in_place)
        m = self._owner(stored)
        if m is None:
            return []
        keys = self._open_keys(m, codes)
        return self._recompute(m, None, g, keys) if keys else []

    def _mobility(self, ev: Mobility) -> list[RecognitionDecision]:
        v = ev.__dict__  # the event's fields (see GradeFact.from_fields)
        mid = v["omobility_id"]
        m = self.facts.mobilities.get(mid) or self.facts.mobility(mid)
        was_host, was_year = m.receiving_hei, m.year
        occ = int(v["occurred_at"].timestamp() * 1000)
        header_changed = changed = m.merge_header(v, occ)
        lifecycle = v["lifecycle"]
        is_la = lifecycle in _LA
        if is_la:
            la = v["learning_agreement"]
            if la is not None:
                changed = m.merge_la(la, v["event_id"], occ) or changed
        elif lifecycle is _TOR:
            changed = m.merge_moment("tor", Moment(v["event_id"], occ, v["trace_id"])) or changed
            if changed and not header_changed and was_host and m.las and m.cancel is None:
                return self._recompute(m, None, ev, self._tor_keys(m))
        elif lifecycle is _CANCELLED:
            changed = m.merge_moment("cancel", Moment(v["event_id"], occ, v["trace_id"])) or changed
        if not changed:
            return []
        was_known = bool(was_host)
        if is_la or not was_known or m.receiving_hei != was_host or m.year != was_year:
            for o in self.facts.mobilities.values():  # results may belong elsewhere now (see _owner)
                o.view = None
        out = self._recompute(m, None, ev)
        if not was_known:  # a new mobility at a host can take over held grades from a sibling there
            for other in self.facts.mobilities.values():
                if other is not m and other.receiving_hei == m.receiving_hei:
                    out.extend(self._recompute(other, None, ev))
        return out

    def _registrar(self, r: RegistrarDecision) -> list[RecognitionDecision]:
        m = self.facts.mobility(r.omobility_id)
        fact = RegistrarFact(
            r.event_id, millis(r.occurred_at), r.decision_id, r.home_component, r.action.value,
            None if r.ects is None else str(r.ects), r.converted_grade, r.registrar, r.reason, r.trace_id,
        )
        if not m.merge_registrar(fact):
            return []
        if len(m.registrar) >= MAX_REGISTRAR:  # an older registrar decision may have been dropped: anything can change
            return self._recompute(m, None, r)
        # it acts on one decision id, of a decision standing, which was emitted: only emitted keys whose registrar
        # chain holds the id can change (a key not worked out since this state was loaded is worked out)
        memo, target = m.memo, r.decision_id
        return self._recompute(m, None, r, [k for k in m.emitted if (known := memo.get(k)) is None or target in known])

    # --- evaluation -------------------------------------------------------------

    def _owner(self, g: GradeFact) -> MobilityFacts | None:
        """The mobility a host result belongs to, or None while it is held."""
        mid = g.omobility_id
        cands = [
            m for m in self.facts.mobilities.values()
            if m.receiving_hei == g.hei and m.las and (mid is None or m.omobility_id == mid)
        ]
        if len(cands) <= 1:
            return cands[0] if cands else None
        return min(cands, key=lambda m: (
            g.course_code not in m.current.in_la, bool(g.year and m.year and g.year != m.year), m.omobility_id,
        ))

    def _view(self, m: MobilityFacts) -> CourseView:
        view = m.view
        if view is None:
            view = m.view = CourseView(self._grades_of(m))
        return view

    def _update_views(self, g: GradeFact, in_place: bool) -> None:
        """Keep the views of the mobilities at ``g``'s host in step with a new or changed result.

        ``in_place``: a new result, or one that kept its course and mobility.  Then, with
        one mobility at the host holding LAs, the result belongs to it alone (when the
        mobility ids agree) and its view is updated; otherwise views at the host are dropped.
        """
        host, mid = g.hei, g.omobility_id
        mobilities = self.facts.mobilities.values()
        views = []
        at_host = 0
        for o in mobilities:
            if o.receiving_hei == host:
                if o.view is not None:
                    views.append(o)
                if o.las:
                    at_host += 1
        if not views:
            return
        alone = in_place and at_host <= 1
        for o in views:
            if not alone:
                o.view = None
            elif mid is None or mid == o.omobility_id:
                view = o.view
                if g in view.by_code.get(g.course_code, ()):
                    view.changed(g)
                else:
                    view.added(g)

    def _grades_of(self, m: MobilityFacts) -> list[GradeFact]:
        siblings = 0  # mobilities at the host holding LAs (counted in a loop: cheaper than a generator for so few)
        for o in self.facts.mobilities.values():
            if o.receiving_hei == m.receiving_hei and o.las:
                siblings += 1
        out = []
        for g in self.facts.grades.values():
            if g.hei != m.receiving_hei or (g.omobility_id is not None and g.omobility_id != m.omobility_id):
                continue
            if siblings > 1 and self._owner(g) is not m:
                continue
            out.append(g)
        return out

    def _recompute(self, m: MobilityFacts, codes: set[str] | None, trigger,
                   keys: list[str] | None = None) -> list[RecognitionDecision]:
        """The changed decisions of ``m`` after ``trigger``: of host ``codes`` (None: any), or of ``keys`` if given."""
        if not m.receiving_hei or not m.las:  # not known yet, or no LA
            return []
        if keys is None:
            if len(m.las) == 1 and not self.facts.grades and not m.emitted and m.tor is None and m.cancel is None:
                return []  # one LA version and nothing graded, decided, issued or cancelled: all pending (_open_keys)
            keys = self._open_keys(m, codes)
        if not keys:
            return []
        # key -> registrar chain: the decision ids a registrar decision could act on (see _registrar)
        memo = m.memo
        rules = MobilityRules(m, m.view or self._view(m), self.converter)
        uncancelled = m.cancel is None
        emitted = m.emitted
        esi, trace_id = self.facts.esi, trigger.trace_id or trigger.event_id  # what every decision of the event carries
        out = []
        # every key named can change (the selection above): each is worked out, nothing is compared first
        for key in sorted(keys):
            prev = emitted.get(key)
            if uncancelled and key[0] == "B":
                code = key[2:]
                # a group that passed as a whole decides by the current version alone, under any number of versions
                if rules.passed_whole(code):
                    b = rules.cur.table_b[code]
                    if not b.recognition_conditions:  # the common case, without a Candidate (auto.py)
                        did, rule, event = auto_recognised(rules, rules.cur, code, b, prev, esi, trace_id)
                        memo[key] = _NO_CHAIN
                        if event is not None:
                            out.append(event)
                            emitted[key] = (did, prev[1] + 1 if prev else 1, rule)
                        continue
            rules.chain = chain = set()
            d = rules.decide(key)
            memo[key] = frozenset(chain) if chain else _NO_CHAIN
            if d is None:
                if prev is None or prev[2] == "R4-withdrawn":
                    continue
                d = rules.withdrawn_late(key, prev[0])
            if prev is not None and prev[0] == d.id:
                continue
            out.append(build_decision(
                d, omobility_id=m.omobility_id, student_esi=esi, home_hei=m.sending_hei,
                host_hei=m.receiving_hei, previous=prev[:2] if prev else None, trace_id=trace_id,
            ))
            emitted[key] = (d.id, prev[1] + 1 if prev else 1, d.rule)
        return out

    # --- persistence --------------------------------------------------------------

    def to_dict(self) -> dict:
        """JSON-compatible state (for a faust table)."""
        return self.facts.to_dict()

    @classmethod
    def from_dict(cls, data: dict, tables: GradingTables | None = None) -> "StudentRecognition":
        state = cls(data["esi"], tables)
        state.facts = StudentFacts.from_dict(data)
        return state


_HANDLERS = {Grade: StudentRecognition._grade, Mobility: StudentRecognition._mobility,
             RegistrarDecision: StudentRecognition._registrar}


def apply(state: StudentRecognition, event: Mobility | Grade | RegistrarDecision) -> list[RecognitionDecision]:
    """Functional form of ``state.apply(event)``."""
    return state.apply(event)
