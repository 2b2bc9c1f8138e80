"""The most common decision, made without intermediate objects: a Table B component whose group all passed.

``MobilityRules.decide`` gives the same outcome (AUTO_RECOGNISED by R2-all-passed, or
R4-corrected after a correction) as a ``Candidate`` turned into an event by
``build_decision``.  Most decisions are this one, under a mobility's only LA version
without cancellation and for a component without recognition conditions, so here its
id, reason and event are built straight from what the group's components share (the
results cited, the conversion, the sentence saying they passed).  The golden outputs
and a test in ``tests/recognition/test_incremental.py`` hold both paths to the same bytes.
"""

from __future__ import annotations

from schemas.models import DecisionStatus, RecognitionDecision

from .decisions import build_event, cents, decision_id, host_grades
from .evaluate import MobilityRules
from .explain import fmt_ects
from .facts import LaFact

__all__ = ["auto_recognised"]

_AUTO = DecisionStatus.AUTO_RECOGNISED
_AUTO_TEXT = _AUTO.value


def auto_recognised(rules: MobilityRules, la: LaFact, code: str, b, previous: tuple | None, esi: str,
                    trace_id: str) -> tuple[str, str, RecognitionDecision | None]:
    """(decision id, rule, event) of Table B ``code`` whose group all passed; no event when ``previous`` has the id.

    ``rules.passed_whole(code)`` must have said so just before (it summarised the group);
    ``b`` is the Table B component, without recognition conditions.
    """
    m = rules.m
    group_id, studied = la.groups[code]
    results, _, ordered, occ, converted, clause, passed, corrected, joined = rules.group_passed(la, studied, b.isced_code)
    rule = "R4-corrected" if corrected else "R2-all-passed"
    grade = converted.label if converted else None
    key = "B:" + code
    ects = b.ects
    did = decision_id(m.omobility_id, key, _AUTO_TEXT, rule, ects, grade, la.extra[code], joined)
    if previous is not None and previous[0] == did:
        return did, rule, None
    after = " after a correction" if corrected else ""
    reason = f"{passed()}{after}; {fmt_ects(ects)} ECTS recognised for {code} {clause}."
    event = build_event(
        did, code, _AUTO, rule, cents(ects), grade, reason, occ, la.version, group_id, host_grades(results),
        converted.conversion if converted is not None else None, ordered, b.title,
        converted.home_scheme_id if converted and grade is not None else None, None,
        m.omobility_id, esi, m.sending_hei, m.receiving_hei, previous[:2] if previous else None, trace_id,
    )
    return did, rule, event
