"""What one mobility's host results say, grouped by course and kept between events.

A ``CourseView`` holds the results a mobility owns (``StudentRecognition._grades_of``)
by course code, in the order the student's facts hold them, with each course's
summary (``Comp``) worked out once and the codes that ever passed.  A grade event
updates the views it touches in place (a new result, or a result whose course and
mobility stay the same); anything that can move a result from one mobility or course
to another (an LA version, a changed header, a result changing course or mobility,
two mobilities at one host) drops the view, to be rebuilt from the facts when next
needed.  Views are never persisted: a state loaded from its dict rebuilds them.
"""

from __future__ import annotations

from .facts import GradeFact

__all__ = ["Comp", "CourseView", "all_in", "passed_before"]


def all_in(codes, passed: dict) -> bool:
    """Whether every one of ``codes`` is a key of ``passed`` (``CourseView.passed``)."""
    for code in codes:  # a loop: a group has a few codes, fewer than what a map and a bound method cost to make
        if code not in passed:
            return False
    return True


def passed_before(codes, by_code: dict, cutoff: int) -> bool:
    """Whether every one of ``codes`` has a result in ``by_code`` (``CourseView.by_code``) that passed before
    ``cutoff`` (epoch ms); loops, which cost less than nested generators for a group's few courses."""
    for code in codes:
        for g in by_code.get(code, ()):
            if g.first_pass is not None and g.first_pass < cutoff:
                break
        else:
            return False
    return True


class Comp:
    """The results of one host course at one mobility, summarised."""

    __slots__ = ("code", "results", "eff", "fail", "unreadable", "ever", "revoked")

    def __init__(self, code: str, results: list[GradeFact]):
        self.code, self.results = code, results
        eff = fail = None
        unreadable: list[GradeFact] | tuple = ()  # a list only when there is one: summaries are kept
        ever = revoked = False
        for g in results:
            if g.first_pass is not None:
                ever = True
            if g.status == "REVOKED":
                revoked = True
            elif g.passed:
                if eff is None or g.attempt_order > eff.attempt_order:
                    eff = g
            elif g.readable:
                if fail is None or g.attempt_order > fail.attempt_order:
                    fail = g
            elif unreadable:
                unreadable.append(g)
            else:
                unreadable = [g]
        self.eff, self.fail, self.unreadable, self.ever, self.revoked = eff, fail, unreadable, ever, revoked

    @property
    def latest(self) -> GradeFact:
        """The result whose latest event is the latest of all (by status precedence, time, id)."""
        return max(self.results, key=lambda g: g.order)


class CourseView:
    """A mobility's results by course code, their summaries, and the codes that ever passed."""

    __slots__ = ("by_code", "comps", "passed")

    def __init__(self, grades: list[GradeFact]):
        self.by_code: dict[str, list[GradeFact]] = {}
        # codes as dict keys (values None), not a set: a dict of strings is never tracked by the collector
        self.passed: dict[str, None] = {}
        for g in grades:
            self.by_code.setdefault(g.course_code, []).append(g)
            if g.first_pass is not None:
                self.passed[g.course_code] = None
        self.comps: dict[str, Comp] = {}

    def eff(self, code: str) -> GradeFact | None:
        """``comp(code).eff``, the latest passing result of ``code``; a course with one result needs no summary."""
        results = self.by_code.get(code)
        if not results:
            return None
        if len(results) == 1:
            g = results[0]
            return g if g.passed and g.status != "REVOKED" else None
        return self.comp(code).eff

    def comp(self, code: str) -> Comp:
        c = self.comps.get(code)
        if c is None:
            c = self.comps[code] = Comp(code, self.by_code.get(code, []))
        return c

    def added(self, g: GradeFact) -> None:
        """A new result of this mobility (the newest of the student's facts)."""
        code = g.course_code
        results = self.by_code.get(code)
        if results is None:
            self.by_code[code] = [g]
        else:
            results.append(g)
        if self.comps:
            self.comps.pop(code, None)
        if g.first_pass is not None:
            self.passed[code] = None

    def changed(self, g: GradeFact) -> None:
        """A result of this mobility changed in place, keeping its course."""
        code = g.course_code
        self.comps.pop(code, None)
        if g.first_pass is not None:
            self.passed[code] = None
