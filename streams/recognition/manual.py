"""Rule 6: a registrar decision on a review item (NEEDS_REVIEW or NOT_RECOGNISED) decides it.

A registrar decision applies when its ``decision_id`` is the review item's id, or the
id of a manual decision that followed it (so a registrar can change their mind on the
decision they see); the latest applicable one (event time, then event id) counts.
Any other ``decision_id`` is stale and changes nothing.  Approving recognises the
ECTS the registrar gives, capped at what was agreed (Table B, or the host course for
a course outside the LA), with the registrar's home grade if it is a label of the
home scheme, else the converted one.
"""

from __future__ import annotations

from decimal import Decimal

from schemas.grading import UnknownGrade, home_scheme
from schemas.models import DecisionStatus as S

from .conversion import Converted
from .decisions import ZERO, Candidate, Ctx
from .explain import fmt_ects
from .facts import MobilityFacts, RegistrarFact

__all__ = ["registrar_index", "with_registrar"]

_CENT = Decimal("0.01")


def registrar_index(m: MobilityFacts) -> dict[str, list[RegistrarFact]]:
    """Registrar decisions of a mobility by the decision id they act on."""
    regs: dict[str, list[RegistrarFact]] = {}
    for r in m.registrar.values():
        regs.setdefault(r.target, []).append(r)
    return regs


def with_registrar(m: MobilityFacts, regs: dict[str, list[RegistrarFact]], base: Candidate, cap: Decimal,
                   converted: Converted | None, chain: set[str] | None = None) -> Candidate:
    """``base`` as the registrar decided it, or ``base`` itself when no registrar decision applies.

    ``chain`` receives every decision id a registrar decision could act on here (the
    base and each manual decision that followed it): one naming any other id changes nothing.
    """
    if chain is not None:
        chain.add(base.id)
    if not regs:
        return base
    frontier, made, applicable = [base.id], {}, []  # made: the manual decision of each registrar decision seen
    while frontier:
        for r in regs.get(frontier.pop(), ()):
            if r.event_id not in made:
                applicable.append(r)
                manual = made[r.event_id] = _manual(m, base, r, cap, converted)
                frontier.append(manual.id)
                if chain is not None:
                    chain.add(manual.id)
    if not applicable:
        return base
    return made[max(applicable, key=lambda r: r.order).event_id]


def _manual(m: MobilityFacts, base: Candidate, r: RegistrarFact, cap: Decimal, converted: Converted | None) -> Candidate:
    inputs = dict(base.imap)
    inputs[r.event_id] = r.occ
    code, ctx = base.key[2:], base.ctx
    said = f": {r.reason}" if r.reason else ""
    if r.action != "APPROVE":
        return Candidate(m.omobility_id, base.key, S.REJECTED, "R6-manual-reject", inputs,
                         lambda: f"Registrar {r.registrar} rejected the recognition of {code}{said}.",
                         extra=base.id, ctx=Ctx(ctx.la_version, ctx.group_id, ctx.host, ctx.converted,
                                                ctx.component, decided_by=r.registrar))
    asked = Decimal(r.ects) if r.ects is not None else cap
    ects = min(max(asked, ZERO), cap).quantize(_CENT)
    notes = []
    if asked > cap:
        notes.append(f"the {fmt_ects(asked)} ECTS asked for are capped at the {fmt_ects(cap)} ECTS agreed")
    grade, scheme_id = None, None
    try:
        home = home_scheme(m.sending_hei)
        scheme_id = home.id
        if not home.pass_fail_only:
            if r.grade:
                try:
                    grade = home.normalise(r.grade)
                except UnknownGrade:
                    notes.append(f"grade {r.grade!r} is not a {home.id} label, so none is recorded")
            elif converted is not None:
                grade = converted.label
    except ValueError:
        pass  # a home institution without schemes: no grade
    note = f" ({'; '.join(notes)})" if notes else ""
    graded = f" with grade {grade}" if grade else " without a grade"
    return Candidate(m.omobility_id, base.key, S.MANUALLY_RECOGNISED, "R6-manual-approve", inputs,
                     lambda: f"Registrar {r.registrar} approved {code}{said}. {fmt_ects(ects)} ECTS recognised"
                             f"{graded}{note} (it was under review by rule {base.rule}).",
                     ects=ects, grade=grade, extra=base.id,
                     ctx=Ctx(ctx.la_version, ctx.group_id, ctx.host, ctx.converted, ctx.component,
                             decided_by=r.registrar, home_scheme_id=scheme_id))
