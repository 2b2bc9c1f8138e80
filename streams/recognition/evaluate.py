"""Recognition rules (DESIGN.md §6, rules 1-6) evaluated over the facts of one mobility, per component.

``MobilityRules(m, view, converter).decide(key)`` returns the candidate decision for
one component key (``B:<Table B code>``, or ``X:<host code>`` for a result outside the
learning agreement) or None while it is pending.  It is a pure function of the facts.

Order independence: everything below is a function of the *set* of facts (see
``facts.py``), and adding facts never turns a decided component back into pending,
with one exception.  Where new facts withdraw a decision, the component becomes
REVOKED with the rule that says why.  So whatever order the same events arrive in,
the final decision per component is the same, and a component that ends pending was
never decided on the way.  The exception: an LA version that arrives *after* results
that occurred later than its approval.  Those results were decided under the older
version (the newer one was not known yet); the newer version then leaves the
component pending, and the state machine withdraws the decision (REVOKED,
``R4-withdrawn``).  Had the version arrived first, nothing would have been decided:
either way nothing is recognised, but one order leaves a REVOKED record.

Evaluation of a Table B component under one LA version (``_table_b``):

1. every Table A component of its group has a passing result (the latest passing
   attempt counts) → AUTO_RECOGNISED (R2-all-passed, or R4-corrected if a result was
   corrected) with the Table B ECTS and a converted grade; NEEDS_REVIEW (R2-conditions)
   if the component has recognition conditions;
2. else, every component passed at some point and a result that passed was since
   revoked (none of its results is left) → REVOKED (R4-revoked);
3. else, the ToR is issued → NOT_RECOGNISED naming the failed component(s)
   (R3-failed-at-tor), or NEEDS_REVIEW naming the missing result(s) (R3-missing-at-tor);
4. else, every component passed at some point but one was since corrected to a fail
   → REVOKED (R4-corrected): the recognition is withdrawn until a resit passes;
5. else pending.

A host result for a course outside Table A is a NEEDS_REVIEW item (R1-outside-la),
REVOKED once all its results are revoked.

Across versions (``decide``): the current (highest) version decides.  A component
that was in Table B of an older version but is not in the current one is REVOKED
(R4-left-table-b).  A component pending under the current version that an older
version had decided before the newer versions were approved (event time) is REVOKED
(R4-la-changed).  A cancelled mobility revokes every component of its current Table B
and every decision (R4-cancelled).  A registrar decision whose ``decision_id`` is the
current NEEDS_REVIEW / NOT_RECOGNISED decision (or the manual decision that followed
it) makes it MANUALLY_RECOGNISED (R6-manual-approve) or REJECTED (R6-manual-reject);
the latest such registrar decision counts.
"""

from __future__ import annotations

from decimal import Decimal

from schemas.models import DecisionStatus as S

from .conversion import Converted, Converter
from .decisions import Candidate, Ctx
from .explain import conversion_clause, fmt_ects
from .facts import GradeFact, LaFact, MobilityFacts, RegistrarFact
from .manual import registrar_index, with_registrar
from .views import CourseView, all_in, passed_before

__all__ = ["MobilityRules"]



def _grade_text(g: GradeFact) -> str:
    attempt = f", attempt {g.attempt}" if g.attempt > 1 else ""
    return f"{g.course_code} {g.label}{attempt}"


def _failed_text(g: GradeFact) -> str:
    attempt = f", attempt {g.attempt}" if g.attempt > 1 else ""
    return f"{g.course_code} ({g.label}{attempt})"


# Reasons are worked out only for decisions that are emitted, so candidates carry them as callables; these are
# made here (or as a string's ``__str__``) rather than as lambdas in the rules, whose every call would otherwise
# make a cell for each name a lambda in it captures.
def _conditions_reason(passed, code: str, version: int, cond: str, ects, clause: str):
    return lambda: (f"{passed()}, but {code} has recognition conditions in LA version {version} (\"{cond}\"), so a "
                    f"registrar decides; automatic recognition would give {fmt_ects(ects)} ECTS {clause}.")


def _recognised_reason(passed, after: str, ects, code: str, clause: str):
    return lambda: f"{passed()}{after}; {fmt_ects(ects)} ECTS recognised for {code} {clause}."


def _cancelled_reason(omobility_id: str, code: str):
    return lambda: (f"Mobility {omobility_id} was cancelled: {code} is not recognised "
                    f"and any earlier decision on it is withdrawn.")


def _at_tor_reason(host: str, code: str, failed: list, missing: list, unread: list, has_components: bool):
    """Why a component is decided at the ToR: worked out only if emitted (a registrar decision on it often is instead)."""
    def why() -> str:
        if failed:
            tail = f" No result for {_names(missing)} either." if missing else ""
            return (f"{host} issued the Transcript of Records and {_names(_failed_text(g) for g in failed)} "
                    f"failed: {code} is not recognised.{tail}")
        gaps = []
        if missing:
            gaps.append(f"{_names(missing)} {'has' if len(missing) == 1 else 'have'} no result")
        if unread:
            gaps.append("unreadable grade " + ", ".join(f"{g.course_code} {g.label!r} ({g.scheme_id})" for g in unread))
        if not has_components:
            gaps.append(f"the LA names no Table A component for {code}")
        return f"{host} issued the Transcript of Records but {'; '.join(gaps)}: a registrar checks {code}."

    return why


def _ever_passed(comps) -> bool:
    """Whether every course summary (``views.Comp``) has a passing result, or had one at some point (a loop: cheaper
    than a generator for a group's few courses)."""
    for c in comps:
        if c.eff is None and not c.ever:
            return False
    return True


def _names(codes) -> str:
    codes = list(codes)
    return codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + " and " + codes[-1]


class MobilityRules:
    """Evaluates the rules for one mobility over its current facts."""

    def __init__(self, m: MobilityFacts, view: CourseView, converter: Converter):
        self.m, self.conv = m, converter
        self.by_code: dict[str, list[GradeFact]] = view.by_code
        self.comp, self.eff = view.comp, view.eff
        self._pending: dict[tuple[str, ...], bool] = {}
        self._passed: dict[tuple, tuple] = {}
        self._comps: dict[tuple[str, ...], tuple] = {}  # per group: the summaries of its courses
        self._effs: dict[tuple[str, ...], tuple | None] = {}  # per group: its courses' passing results, or None
        self._at_tor_of: dict[tuple[str, ...], tuple] = {}  # per group: what a decision at the ToR cites (_at_tor_results)
        self._regs: dict[str, list[RegistrarFact]] | None = None
        self.chain: set[str] | None = None  # set it to collect the ids registrar decisions could act on
        self.cur: LaFact | None = m.current

    def passed_whole(self, code: str) -> bool:
        """Whether every course of the group of Table B ``code`` (current LA version) has a passing result.

        Then ``_table_b`` gives AUTO_RECOGNISED or NEEDS_REVIEW from the current version alone, whatever
        the older ones say; the group's passing results are kept for ``group_passed``.
        """
        group = self.cur.groups.get(code)
        if group is None:
            return False
        studied = group[1]
        if not studied:
            return False
        if studied in self._effs:
            return self._effs[studied] is not None
        eff = self.eff
        results = []
        for a in studied:
            g = eff(a)
            if g is None:
                self._effs[studied] = None
                return False
            results.append(g)
        self._effs[studied] = tuple(results)
        return True

    # --- across versions, cancellation ----------------------------------------

    def decide(self, key: str) -> Candidate | None:
        m, cur = self.m, self.cur
        if cur is None:
            return None
        d = self._table_b(cur, key[2:], True) if key[0] == "B" else self._outside(cur, key[2:], True)
        if d is None and len(m.las) > 1:
            d = self._from_older(key)
        if m.cancel is not None and (d is None or d.status is not S.REVOKED):
            code = key[2:]
            if d is None and not (key[0] == "B" and code in cur.table_b):
                return None
            inputs = dict(d.imap) if d is not None else {}
            inputs[m.cancel.event_id] = m.cancel.occ
            ctx = d.ctx if d is not None else Ctx(cur.version, cur.groups[code][0], (), None, cur.table_b[code])
            d = Candidate(m.omobility_id, key, S.REVOKED, "R4-cancelled", inputs,
                          _cancelled_reason(m.omobility_id, code),
                          extra=d.id if d is not None else "", ctx=Ctx(cur.version, ctx.group_id, ctx.host, None, ctx.component))
        return d

    def _from_older(self, key: str) -> Candidate | None:
        """REVOKED for a component an older LA version had and the current one drops or now leaves pending."""
        m, cur, code = self.m, self.cur, key[2:]
        versions = sorted(m.las)
        if key[0] == "B" and code not in cur.table_b:
            holders = [v for v in versions[:-1] if code in m.las[v].table_b]
            if not holders:
                return None
            old = m.las[holders[-1]]
            successor = m.las[versions[versions.index(old.version) + 1]]
            group_id = old.groups[code][0]
            return Candidate(m.omobility_id, key, S.REVOKED, "R4-left-table-b", {successor.event_id: successor.occ},
                             lambda: f"{code} left Table B in LA version {successor.version}: it is not recognised "
                                     f"and any earlier decision on it is withdrawn.",
                             ctx=Ctx(cur.version, group_id, (), None, old.table_b[code]))
        cutoff = 0
        for i in range(len(versions) - 2, -1, -1):
            cutoff = max(cutoff, m.las[versions[i + 1]].occ)
            old = m.las[versions[i]]
            if self._decided_before(old, key, cutoff):
                return self._withdrawn(key, self._under(old, key, False), old.version, m.las[versions[i + 1]])
        return None

    def _decided_before(self, la: LaFact, key: str, cutoff: int) -> bool:
        """Whether ``key`` was decided under an older LA version before later versions were approved (event time)."""
        code = key[2:]
        if key[0] == "X":
            return code not in la.in_la and any(g.first_seen < cutoff for g in self.by_code.get(code, ()))
        if code not in la.table_b:
            return False
        if self.m.tor is not None and self.m.tor.occ < cutoff:
            return True
        studied = la.groups[code][1]
        return bool(studied) and passed_before(studied, self.by_code, cutoff)

    def withdrawn_late(self, key: str, previous_id: str) -> Candidate:
        """The withdrawal of a decision the current facts no longer support (an LA version that arrived late)."""
        m, cur, code = self.m, self.cur, key[2:]
        if key[0] == "X":
            why = f"{code} is in the learning agreement (version {cur.version})"
        elif code not in cur.table_b:
            why = f"{code} is not in Table B of LA version {cur.version}"
        else:
            waiting = [a for a in cur.groups[code][1] if self.comp(a).eff is None]
            why = f"under LA version {cur.version}, {code} waits for a passing result of {_names(waiting) if waiting else 'its components'}"
        return Candidate(m.omobility_id, key, S.REVOKED, "R4-withdrawn", {cur.event_id: cur.occ},
                         lambda: f"The earlier decision no longer holds under LA version {cur.version} ({why}): it is "
                                 f"withdrawn (that version was processed after the decision was made).",
                         extra=previous_id, ctx=Ctx(cur.version, cur.groups.get(code, ("outside-la",))[0],
                                                    (), None, cur.table_b.get(code)))

    def _under(self, la: LaFact, key: str, registrar: bool) -> Candidate | None:
        if key[0] == "B":
            return self._table_b(la, key[2:], registrar)
        return self._outside(la, key[2:], registrar)

    def _withdrawn(self, key: str, old: Candidate, old_version: int, successor: LaFact) -> Candidate:
        cur, code = self.cur, key[2:]
        inputs = dict(old.imap)
        inputs[successor.event_id] = successor.occ
        if key[0] == "X":
            why = (f"{code} is part of the learning agreement since version {successor.version}: the review item "
                   f"for it as a course outside the LA is withdrawn; it is decided with its group.")
        else:
            waiting = [a for a in cur.groups[code][1] if self.comp(a).eff is None]
            why = (f"LA version {successor.version} changed what {code} needs; under version {cur.version} it waits "
                   f"for a passing result of {_names(waiting) if waiting else 'its components'}, so its decision "
                   f"under version {old_version} is withdrawn.")
        return Candidate(self.m.omobility_id, key, S.REVOKED, "R4-la-changed", inputs, why.__str__, extra=old.id,
                         ctx=Ctx(cur.version, old.ctx.group_id, old.ctx.host, None, old.ctx.component))

    # --- one LA version -----------------------------------------------------------

    def _table_b(self, la: LaFact, code: str, registrar: bool) -> Candidate | None:
        b = la.table_b.get(code)
        if b is None:
            return None
        m = self.m
        group_id, studied = la.groups[code]
        comps = self._comps.get(studied)  # summarised already: pending or not is known below
        if comps is None:
            if m.tor is None:  # a group still waiting for results (shared by all implicit groups)
                pending = self._pending.get(studied)
                if pending is None:
                    pending = self._pending[studied] = self._waiting(studied)
                if pending:
                    return None
            comp = self.comp
            comps = self._comps[studied] = tuple([comp(a) for a in studied])
        all_passed = bool(studied)
        decidable = m.tor is not None
        for c in comps:
            if c.eff is None:
                all_passed = False
                if c.ever:
                    decidable = True
                elif not decidable:
                    return None  # pending: a component never passed and there is no ToR
        return self._table_b_decided(la, code, b, group_id, studied, comps, all_passed, registrar)

    def _waiting(self, studied: tuple[str, ...]) -> bool:
        """Whether a group is pending without a ToR: no course, or one that never passed.

        Loops, not generators given to ``any``: asked on many grade events, a generator costs more than its few courses.
        """
        if not studied or not all_in(studied, self.by_code):  # a course without any result is never passed
            return True
        comp = self.comp
        for a in studied:
            c = comp(a)
            if c.eff is None and not c.ever:
                return True
        return False

    def _table_b_decided(self, la, code, b, group_id, studied, comps, all_passed, registrar) -> Candidate | None:
        m = self.m
        key = "B:" + code
        extra = la.extra_of(code)
        host = m.receiving_hei
        if all_passed:
            # the components of an implicit group share their results: worked out once per group and home field
            results, inputs, ordered, occ, converted, clause, passed, corrected, _ = self.group_passed(
                la, studied, b.isced_code)
            ctx = Ctx(la.version, group_id, results, converted, b, home_scheme_id=converted.home_scheme_id if converted else None)
            cond = b.recognition_conditions
            if cond:
                base = Candidate(m.omobility_id, key, S.NEEDS_REVIEW, "R2-conditions", inputs,
                                 _conditions_reason(passed, code, la.version, cond, b.ects, clause),
                                 extra=extra, ctx=ctx, ordered=ordered, occ=occ)
                return self._registrar(base, b.ects, converted) if registrar else base
            rule = "R4-corrected" if corrected else "R2-all-passed"
            after = " after a correction" if corrected else ""
            return Candidate(m.omobility_id, key, S.AUTO_RECOGNISED, rule, inputs,
                             _recognised_reason(passed, after, b.ects, code, clause),
                             ects=b.ects, grade=converted.label if converted else None, extra=extra, ctx=ctx,
                             ordered=ordered, occ=occ)
        lost = [c for c in comps if c.eff is None]
        if studied and _ever_passed(comps):
            revoked = [c.code for c in lost if not any(g.live for g in c.results)]
            if revoked or m.tor is None:
                inputs = {c.eff.event_id: c.eff.occ for c in comps if c.eff is not None}
                inputs.update({c.latest.event_id: c.latest.occ for c in lost})
                if revoked:
                    rule, why = "R4-revoked", (f"{host} revoked the result of {_names(revoked)}: {code} is not recognised "
                                               f"and any earlier recognition is withdrawn.")
                else:
                    rule, why = "R4-corrected", (f"{host} changed {_names(_grade_text(c.latest) for c in lost)} to a failing "
                                                 f"grade: {code} is not recognised until a passing result arrives.")
                return Candidate(m.omobility_id, key, S.REVOKED, rule, inputs, why.__str__, extra=extra,
                                 ctx=Ctx(la.version, group_id, [c.latest for c in comps], None, b))
        if m.tor is not None:
            return self._at_tor(la, code, b, group_id, studied, comps, extra, registrar)
        return None

    def group_passed(self, la: LaFact, studied: tuple[str, ...], home_field: str | None) -> tuple:
        """What the decisions on a group whose courses all passed share, worked out once per group and home field.

        (results, inputs, sorted input ids, latest time, conversion, its clause, the sentence saying
        they passed, whether one was corrected, the input ids joined as decision ids cite them);
        ``passed_whole`` or ``_table_b`` must have found them passing.
        """
        memo_key = (la.event_id, studied, home_field)
        shared = self._passed.get(memo_key)
        if shared is None:
            results = self._effs.get(studied)
            if results is None:
                results = tuple([c.eff for c in self._comps[studied]])
            shared = self._passed[memo_key] = self._all_passed(results, la, home_field)
        return shared

    def _all_passed(self, results: tuple, la: LaFact, home_field: str | None) -> tuple:
        """What the decisions on a group whose courses all passed share, given their passing results (``group_passed``)."""
        host = self.m.receiving_hei
        inputs = {}
        corrected = False
        for g in results:
            inputs[g.event_id] = g.occ
            if g.status == "CORRECTED":
                corrected = True
        converted, error = self._convert(results, la, home_field)
        clause = converted.clause if converted is not None else conversion_clause(None, error)
        text: list[str] = []

        def passed() -> str:
            if not text:
                if len(results) == 1:
                    text.append(f"{results[0].course_code} passed at {host} ({results[0].label})")
                else:
                    text.append(f"All {len(results)} components passed at {host} "
                                f"({', '.join([_grade_text(g) for g in results])})")
            return text[0]

        ordered = tuple(sorted(inputs))
        return results, inputs, ordered, max(inputs.values()), converted, clause, passed, corrected, ",".join(ordered)

    def _at_tor(self, la, code, b, group_id, studied, comps, extra, registrar) -> Candidate:
        m, host, tor = self.m, self.m.receiving_hei, self.m.tor
        failed, unread, missing, cited = self._at_tor_results(studied, comps)
        inputs = {g.event_id: g.occ for g in cited}
        inputs[tor.event_id] = tor.occ
        ctx = Ctx(la.version, group_id, cited, None, b)
        if failed:
            status, rule = S.NOT_RECOGNISED, "R3-failed-at-tor"
        else:
            status, rule = S.NEEDS_REVIEW, "R3-missing-at-tor"
        why = _at_tor_reason(host, code, failed, missing, unread, bool(comps))
        base = Candidate(m.omobility_id, "B:" + code, status, rule, inputs, why, extra=extra, ctx=ctx)
        return self._registrar(base, b.ects, None) if registrar else base

    def _at_tor_results(self, studied: tuple[str, ...], comps: tuple) -> tuple:
        """(failed, unreadable, missing, cited) of a group's courses at the ToR, worked out once per group.

        The components of an implicit group then cite one tuple of results, whose HostGrades are built
        once for all their decisions (``decisions.host_grades``).
        """
        found = self._at_tor_of.get(studied)
        if found is None:
            failed = [c.fail for c in comps if c.eff is None and c.fail is not None]
            unread = [c.unreadable[-1] for c in comps if c.eff is None and c.fail is None and c.unreadable]
            missing = [c.code for c in comps if c.eff is None and c.fail is None and not c.unreadable]
            cited = tuple([c.eff for c in comps if c.eff is not None] + failed + unread)
            found = self._at_tor_of[studied] = (failed, unread, missing, cited)
        return found

    def _outside(self, la: LaFact, code: str, registrar: bool) -> Candidate | None:
        if code in la.in_la:
            return None
        c = self.comp(code)
        if not c.results:
            return None
        m, host, key = self.m, self.m.receiving_hei, "X:" + code
        live = [g for g in c.results if g.live]
        if not live:
            inputs = {g.event_id: g.occ for g in c.results}
            return Candidate(m.omobility_id, key, S.REVOKED, "R4-revoked", inputs,
                             lambda: f"{host} revoked the result of {code}, a course outside the learning agreement.",
                             ctx=Ctx(la.version, "outside-la", c.results))
        shown = c.eff or c.fail or c.unreadable[-1]
        converted, error = self._convert([c.eff], la, None) if c.eff is not None else (None, "")
        inputs = {g.event_id: g.occ for g in live}
        def hint() -> str:
            if c.eff is None:
                return ""
            return f" Recognised, it would give {fmt_ects(shown.ects)} ECTS {(converted.clause if converted is not None else conversion_clause(None, error))}."

        base = Candidate(m.omobility_id, key, S.NEEDS_REVIEW, "R1-outside-la", inputs,
                         lambda: f"{code} ({shown.label}, {fmt_ects(shown.ects)} ECTS) was graded at {host} but is not in "
                                 f"Table A of LA version {la.version}: outside the learning agreement, a registrar "
                                 f"decides.{hint()}",
                         extra="outside",
                         ctx=Ctx(la.version, "outside-la", live, converted,
                                 home_scheme_id=converted.home_scheme_id if converted else None))
        return self._registrar(base, Decimal(shown.ects), converted) if registrar else base

    # --- helpers ----------------------------------------------------------------

    def _convert(self, results: list[GradeFact], la: LaFact, home_field: str | None) -> tuple[Converted | None, str]:
        m = self.m
        year = m.year or None
        hosts = []
        a_isced = la.a_isced
        for g in results:
            field = g.isced
            if not field:
                field = a_isced.get(g.course_code) or m.isced
            hosts.append((g.scheme_id, g.label, float(g.ects), field, g.year or year))
        try:
            return self.conv.convert_plain(tuple(hosts), m.sending_hei, home_field or m.isced, year), ""
        except ValueError as exc:
            return None, str(exc).split(":")[0]

    def _registrar(self, base: Candidate, cap: Decimal, converted: Converted | None) -> Candidate:
        if self._regs is None:
            self._regs = registrar_index(self.m)
        return with_registrar(self.m, self._regs, base, cap, converted, self.chain)
