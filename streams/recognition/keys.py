"""Which decision keys of a mobility an event can change, worked out before any rule runs.

``OpenKeys`` is a mixin of ``StudentRecognition``: from a mobility's facts and course
view it names the keys whose decision can change (all of them, those of some host
codes, or those a ToR reads), so that a key still pending, or one whose inputs the
event does not touch, is never evaluated.  ``MobilityRules`` then decides the keys named.
"""

from __future__ import annotations

from .facts import LaFact, MobilityFacts
from .shapes import shared_keys
from .views import all_in, passed_before

__all__ = ["OpenKeys"]

_x_key = shared_keys("X:")  # the decision key of a course outside the LA: every grade event asks for its course's


class OpenKeys:
    """The key selection of ``StudentRecognition`` (see the module docstring); needs its ``_view``."""

    __slots__ = ()

    @staticmethod
    def _candidate_keys(las, codes: set[str] | None, seen, emitted) -> set[str]:
        """Every Table B key of ``las``, outside-LA key of a course with results and emitted key; or those of ``codes``."""
        if codes is None:
            keys = {k for la in las for k in la.b_keys}
            # a course every version covers has no outside-LA key unless one was emitted
            keys.update([_x_key(c) for c in seen if not all(c in la.in_la for la in las)])
            keys.update(emitted)
        else:
            keys = {_x_key(c) for c in codes}
            for la in las:
                for c in codes:
                    keys.update(la.need_keys.get(c, ()))
        return keys

    def _open_keys(self, m: MobilityFacts, codes: set[str] | None) -> list[str]:
        """The keys whose decision can change: all of them, or those a change to host ``codes`` can affect.

        A key without a decision emitted (or whose last one was a late withdrawal) gives
        nothing while ``MobilityRules.decide`` returns None for it, which is known from the
        view's codes alone: a course outside the LA needs a result and a version whose LA
        does not cover it (``_outside``, ``_decided_before``); without ToR or cancellation,
        a component of the current Table B needs a version under which every course of its
        group passed at some point (``_table_b`` is pending otherwise, ``_decided_before``
        needs them passed before a cutoff).
        """
        view = m.view or self._view(m)
        seen, passed = view.by_code, view.passed
        emitted = m.emitted
        if len(m.las) == 1:
            la = m.current
            if m.tor is None and m.cancel is None:
                if codes is not None and len(codes) == 1:
                    return self._open_grade_keys(la, next(iter(codes)), seen, passed, emitted)
                if not seen and not emitted:  # no result and nothing decided: everything is pending
                    return []
            keys = self._candidate_keys((la,), codes, seen, emitted)
            pending_b = m.tor is None and m.cancel is None
            groups, in_la = la.groups, la.in_la
            out = []
            for key in keys:
                prev = emitted.get(key)
                if prev is None or prev[2] == "R4-withdrawn":
                    code = key[2:]
                    if key[0] == "X":
                        if code in in_la or code not in seen:
                            continue
                    elif pending_b:
                        group = groups.get(code)
                        if group is None or not group[1] or not all_in(group[1], passed):
                            continue
                out.append(key)
            return out
        if codes is not None and len(codes) == 1 and m.tor is None and m.cancel is None:
            return self._open_grade_keys_versions(m, next(iter(codes)), seen, passed, emitted)
        las = list(m.las.values())
        keys = self._candidate_keys(las, codes, seen, emitted)
        pending_b = m.tor is None and m.cancel is None
        cur = m.current
        older = None
        out = []
        for key in keys:
            prev = emitted.get(key)
            if prev is None or prev[2] == "R4-withdrawn":
                code = key[2:]
                if key[0] == "X":
                    if not self._outside_opens(m, cur, code, seen):
                        continue
                elif pending_b and code in cur.table_b:
                    if older is None:
                        older = self._older(m)
                    if not self._decidable(cur, older, code, seen, passed):
                        continue
            out.append(key)
        return out

    def _outside_opens(self, m: MobilityFacts, cur: LaFact, code: str, seen) -> bool:
        """Whether host ``code``, with no decision standing, gets one as a course outside the LA (several versions).

        It has a result, and the current version does not cover it (``MobilityRules._outside``) or an
        older version did not while one of its results came before the later versions were approved
        (``MobilityRules._from_older``, ``_decided_before``); otherwise ``decide`` returns None for it.
        """
        results = seen.get(code)
        if not results:
            return False
        if code not in cur.in_la:
            return True
        for la in m.las.values():  # the cutoffs only matter for an older version that does not cover it
            if code not in la.in_la:
                break
        else:
            return False
        for la, cutoff in self._older(m):
            if code not in la.in_la and any(g.first_seen < cutoff for g in results):
                return True
        return False

    @staticmethod
    def _older(m: MobilityFacts) -> list[tuple]:
        """The older LA versions, newest first, each with the cutoff its decisions had to come before.

        The cutoff of a version is the latest approval among the versions after it (event time).
        Kept on the mobility until its LA versions change (``MobilityFacts.merge_la``).
        """
        if m.older is not None:
            return m.older
        versions = sorted(m.las)
        out = []
        cutoff = 0
        for i in range(len(versions) - 2, -1, -1):
            cutoff = max(cutoff, m.las[versions[i + 1]].occ)
            out.append((m.las[versions[i]], cutoff))
        m.older = out
        return out

    @staticmethod
    def _decidable(cur: LaFact, older: list[tuple], code: str, seen, passed) -> bool:
        """Whether Table B ``code`` of the current version can be decided without ToR or cancellation.

        Every course of its current group passed at some point (``_table_b``), or every course
        of an older version's group passed before the later versions were approved
        (``MobilityRules._decided_before``; ``older`` from ``_older``).
        """
        studied = cur.groups[code][1]
        if studied and all_in(studied, passed):
            return True
        return OpenKeys._decided_older(older, code, seen, passed)

    @staticmethod
    def _decided_older(older: list[tuple], code: str, seen, passed) -> bool:
        """Whether every course of an older version's group of ``code`` passed before the later versions came."""
        for la, cutoff in older:
            group = la.groups.get(code)
            # a course never passed has no pass before the cutoff: the set test spares the scan
            if group is not None and group[1] and all_in(group[1], passed) and passed_before(group[1], seen, cutoff):
                return True
        return False

    @staticmethod
    def _open_grade_keys(la, code: str, seen, passed, emitted) -> list[str]:
        """``_open_keys`` for one course under one LA version, without ToR or cancellation."""
        if not emitted:  # nothing decided yet: a key opens once every course of its group passed at some point
            out = []
            for studied, keys in la.need_groups.get(code, ()):
                if studied and all_in(studied, passed):
                    out.extend(keys)
            if code not in la.in_la and code in seen:
                out.append(_x_key(code))
            return out
        out = []
        tested, complete = None, False  # the components of an implicit group share one studied tuple: test it once
        studied_of = la.studied
        for key in la.need_keys.get(code, ()):
            prev = emitted.get(key)
            if prev is None or prev[2] == "R4-withdrawn":
                studied = studied_of[key]
                if studied is not tested:
                    tested, complete = studied, bool(studied) and all_in(studied, passed)
                if not complete:
                    continue
            out.append(key)
        key = _x_key(code)
        prev = emitted.get(key)
        if (prev is not None and prev[2] != "R4-withdrawn") or (code not in la.in_la and code in seen):
            out.append(key)
        return out

    def _open_grade_keys_versions(self, m: MobilityFacts, code: str, seen, passed, emitted) -> list[str]:
        """``_open_keys`` for one course under several LA versions, without ToR or cancellation.

        A component of the current Table B not yet decided opens only if ``_decidable``: its group
        under the current version passed (tested once per studied tuple), or an older version's
        did before the later versions came (``_decided_older``, with the mobility's kept ``_older``).
        """
        las = m.las
        cur = m.current
        keys: set[str] = set()
        for la in las.values():
            needs = la.need_keys.get(code)
            if needs:
                keys.update(needs)
        out = []
        tested, complete = None, False  # the components of an implicit group share one studied tuple: test it once
        older = None
        for key in keys:
            prev = emitted.get(key)
            if prev is None or prev[2] == "R4-withdrawn":
                b = key[2:]
                group = cur.groups.get(b)
                if group is not None:
                    studied = group[1]
                    if studied is not tested:
                        tested, complete = studied, bool(studied) and all_in(studied, passed)
                    if not complete:
                        if older is None:
                            older = self._older(m)
                        if not self._decided_older(older, b, seen, passed):
                            continue  # pending under every version
            out.append(key)
        key = _x_key(code)
        prev = emitted.get(key)
        if (prev is not None and prev[2] != "R4-withdrawn") or self._outside_opens(m, cur, code, seen):
            out.append(key)
        return out

    def _tor_keys(self, m: MobilityFacts) -> list[str]:
        """The keys a (new or earlier) ToR can change without cancellation.

        Only a Table B component of the current LA version whose group has not all passed
        reads the ToR (``_table_b``: rules 3 and 4; under several
        versions ``_decided_before`` for the older ones, asked only while the current one
        decides nothing); a group that all passed, a component the current version dropped
        and a course outside the LA are decided as before, so their decisions stand.
        """
        la = m.current
        eff = (m.view or self._view(m)).eff
        out = []
        tested, complete = None, False  # implicit groups share one studied tuple: test it once
        for key, studied in la.studied.items():
            if studied is not tested:
                tested = studied
                complete = bool(studied)
                for a in studied:
                    if eff(a) is None:
                        complete = False
                        break
            if not complete:
                out.append(key)
        return out
