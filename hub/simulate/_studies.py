"""A home student's year: course registrations, exam results, resits, corrections and revocations.

Each fact is a small dict (a *record*) with its event time ``t`` (epoch ms); every
version of a result or registration is its own record (``v`` counts versions),
because every partner source lists record versions in the order it delivers them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hub.simulate._calendar import Calendar
from hub.simulate._catalogue import Catalogue, Course
from hub.simulate._grades import GradeDrawer, printed
from hub.simulate._people import Student
from hub.simulate._rand import Rand, ms
from schemas.grading import SCHEMES

Record = dict[str, Any]

WITHDRAW = 0.03
FAIL = 0.12
RESIT = 0.65
RESIT_PASS = 0.75
CORRECT = 0.015
REVOKE = 0.003
LOAD = Decimal(28)
MAX_COURSES = 6
NO_ATTEMPT_NUMBER = frozenset({"hh.se"})  # the hub orders such results by assessment date (resits come later)


class RecordIds:
    """Registration and result ids in the partner's style (UUIDs, SAP numbers, PRIMUSS keys, ...)."""

    _STYLE = {"hh.se": "uuid", "fontys.nl": "uuid", "ucn.dk": "uuid", "viko.lt": "uuid", "th-deg.de": "primuss",
              "thomasmore.be": "{:010d}", "seamk.fi": "{:d}", "ipbeja.pt": "{:d}", "mendelu.cz": "{:d}"}

    def __init__(self, hei: str, rng: Rand, incoming: bool = False):
        self.hei, self.rng = hei, rng
        self.style = self._STYLE[hei]
        base = 40_000_000 if incoming else 1_000_000
        self.result_no = base + rng.randint(0, 99_999)
        self.enrolment_no = base + rng.randint(0, 99_999)

    def attempt(self, n: int) -> int:
        """Attempt ``n`` as the SIS records it: Ladok has no attempt number, so its results all say 1."""
        return 1 if self.hei in NO_ATTEMPT_NUMBER else n

    def enrolment(self) -> str:
        if self.hei == "fontys.nl":  # an OOAPI association holds the registration and its first result
            return self.rng.uuid()
        self.enrolment_no += self.rng.randint(1, 4)
        return str(self.enrolment_no)

    def result(self, student: Student, course: Course, attempt: int, enrolment_id: str) -> str:
        if self.hei == "fontys.nl" and attempt == 1:
            return enrolment_id
        if self.style == "uuid":
            return self.rng.uuid()
        if self.style == "primuss":
            return f"{student.local_id}-{course.code}-{attempt}"
        self.result_no += self.rng.randint(1, 4)
        return self.style.format(self.result_no)


def student_record(s: Student, t_ms: int) -> Record:
    return {"k": "student", "t": t_ms, "sid": s.local_id, "esi": s.esi, "isced": s.isced, "given": s.given,
            "family": s.family, "birth": s.birth.isoformat(), "gender": s.gender, "home": s.home}


def enrolment_record(s: Student, course: Course, rid: str, v: int, status: str, t: datetime) -> Record:
    return {"k": "enrolment", "t": ms(t), "sid": s.local_id, "esi": s.esi, "rid": rid, "v": v, "code": course.code,
            "status": status}


def grade_record(s: Student, course: Course, rid: str, v: int, label: str, status: str, attempt: int,
                 assessed: datetime, t: datetime) -> Record:
    return {"k": "grade", "t": ms(t), "sid": s.local_id, "esi": s.esi, "rid": rid, "v": v, "code": course.code,
            "label": label, "st": status, "att": attempt, "on": assessed.date().isoformat()}


def choose_courses(rng: Rand, cat: Catalogue, term: int, isced: str, load: Decimal = LOAD,
                   exclude: frozenset[str] = frozenset(), limit: int = MAX_COURSES) -> list[Course]:
    """Courses of the student's field (others when the field runs short) until the term's load is reached."""
    own = [c for c in cat.pool(term, isced) if c.code not in exclude]
    picked: list[Course] = []
    total = Decimal(0)
    for pool in (own, [c for c in cat.term_courses(term) if c.isced != isced and c.code not in exclude]):
        for c in rng.sample(pool, len(pool)):
            if total >= load or len(picked) >= limit:
                return picked
            picked.append(c)
            total += c.ects
    return picked


def home_year(rng: Rand, s: Student, cal: Calendar, cat: Catalogue, drawer: GradeDrawer, ids: RecordIds,
              away_term: int | None) -> list[Record]:
    """Every record of one home student's year; nothing at home in the term they spend abroad."""
    records: list[Record] = []
    for term in (1, 2):
        if term == away_term:
            continue
        start = cal.term_start(term)
        for course in choose_courses(rng, cat, term, s.isced):
            records.extend(course_history(rng, s, course, cal, drawer, ids,
                                          rng.office_time(rng.day_between(start - timedelta(days=14), start + timedelta(days=5)))))
    if records:
        first = min(r["t"] for r in records)
        records.insert(0, student_record(s, first - 86_400_000 * rng.randint(1, 20)))
    return records


def course_history(rng: Rand, s: Student, course: Course, cal: Calendar, drawer: GradeDrawer, ids: RecordIds,
                   registered: datetime) -> list[Record]:
    """One course: registration, then withdrawal or results (first attempt, maybe a resit, a correction, a revocation)."""
    rid = ids.enrolment()
    out = [enrolment_record(s, course, rid, 1, "REGISTERED", registered)]
    if rng.chance(WITHDRAW):
        out.append(enrolment_record(s, course, rid, 2, "WITHDRAWN",
                                    rng.office_time((registered + timedelta(days=rng.randint(15, 50))).date())))
        return out
    passed = not rng.chance(FAIL)
    exam = rng.office_time(rng.day_between(*cal.exams(course.term)))
    out.extend(result_history(rng, s, course, ids, rid, 1, passed, exam, drawer))
    if not passed and rng.chance(RESIT):
        exam = rng.office_time(rng.day_between(*cal.resits(course.term)))
        out.extend(result_history(rng, s, course, ids, rid, 2, rng.chance(RESIT_PASS), exam, drawer))
    return out


def result_history(rng: Rand, s: Student, course: Course, ids: RecordIds, enrolment_id: str, attempt: int,
                   passed: bool, exam: datetime, drawer: GradeDrawer, correct: float = CORRECT,
                   revoke: float = REVOKE) -> list[Record]:
    """One attempt: the attested result, sometimes a later correction, rarely a revocation."""
    rid = ids.result(s, course, attempt, enrolment_id)
    attempt = ids.attempt(attempt)
    label = drawer.passing(rng, course) if passed else drawer.failing(rng, course.scheme_id)
    t = exam + timedelta(days=rng.randint(3, 12))
    out = [grade_record(s, course, rid, 1, printed(rng, course.scheme_id, label), "FINAL", attempt, exam, t)]
    if rng.chance(correct):
        other = drawer.other_passing(rng, course, label) if label in SCHEMES[course.scheme_id].passing else None
        if other is not None:
            label, t = other, t + timedelta(days=rng.randint(3, 30), hours=rng.randint(0, 6))
            out.append(grade_record(s, course, rid, 2, printed(rng, course.scheme_id, label), "CORRECTED", attempt, exam, t))
    if rng.chance(revoke):
        t = t + timedelta(days=rng.randint(10, 60), hours=rng.randint(0, 6))
        out.append(grade_record(s, course, rid, len(out) + 1, out[-1]["label"], "REVOKED", attempt, exam, t))
    return out
