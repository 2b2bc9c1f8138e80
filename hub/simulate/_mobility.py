"""Mobilities: nomination, learning agreement versions, the stay, host results, the ToR, cancellations.

Each mobility gets a set of *features* (an LA change, a failed exam then a resit, a
late ToR, ...).  The first mobilities each force one feature in turn, so even a
small simulation shows every case; later ones draw features at their rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from hub.simulate._calendar import Calendar
from hub.simulate._catalogue import Catalogue, Course
from hub.simulate._grades import GradeDrawer, printed
from hub.simulate._people import IdMaker, Student, as_incoming
from hub.simulate._rand import Rand, from_ms, ms
from hub.simulate._studies import (
    Record,
    RecordIds,
    choose_courses,
    enrolment_record,
    result_history,
    student_record,
)
from schemas.grading import SCHEMES

RATES: dict[str, float] = {
    "la_change": 0.25, "la_change_b": 0.10, "explicit_groups": 0.30, "conditions": 0.10, "fail_then_pass": 0.12,
    "fail_final": 0.05, "correction": 0.06, "revocation": 0.03, "outside_la": 0.08, "missing_result": 0.04,
    "late_tor": 0.10, "no_tor": 0.03, "cancel_before_la": 0.02, "cancel_after_la": 0.03, "pending_proposal": 0.04,
}
FEATURES = tuple(RATES)
_GRADE_FEATURES = frozenset({"fail_then_pass", "fail_final", "correction", "revocation", "outside_la",
                             "missing_result", "late_tor", "no_tor", "la_change", "la_change_b"})
CONDITIONS = (
    "Recognised only after the home examiner has approved the host project report.",
    "Counts as elective credits; the programme board checks the syllabus first.",
    "Recognised if the host course covers the laboratory safety module.",
)
_DELETE_REASONS = ("not-available", "language-mismatch", "timetable-conflict")


@dataclass
class LaVersion:
    version: int
    student_signed: datetime
    sending_signed: datetime
    approved_at: datetime  # the receiving HEI's signature completes the version
    studied: list[Course]
    recognized: list[Course]
    conditions: dict[str, str] = field(default_factory=dict)
    groups: list[tuple[str, list[str], list[str]]] = field(default_factory=list)
    changes: list[tuple[str, str, Course, str]] = field(default_factory=list)  # (table, status, course, reason)


@dataclass
class Mobility:
    omobility_id: str
    student: Student
    guest: Student | None
    host: str
    term: int
    features: frozenset[str]
    nominated_at: datetime
    planned_start: date
    planned_end: date
    versions: list[LaVersion] = field(default_factory=list)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    cancelled_at: datetime | None = None
    tor_at: datetime | None = None
    host_records: list[Record] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    host_schemes: dict[str, str] = field(default_factory=dict)  # host course code -> grading scheme id
    # a change proposed after the last approved version and never approved: (course, student, sending signature)
    proposal: tuple[Course, datetime, datetime] | None = None

    @property
    def home(self) -> str:
        return self.student.hei

    def lifecycle(self) -> list[tuple[str, datetime, str, int | None]]:
        """(lifecycle, when, publishing partner, LA version) in event-time order."""
        out: list[tuple[str, datetime, str, int | None]] = [("NOMINATED", self.nominated_at, self.home, None)]
        for v in self.versions:
            out.append(("LA_APPROVED" if v.version == 1 else "LA_CHANGED", v.approved_at, self.home, v.version))
        if self.started_at:
            out.append(("STARTED", self.started_at, self.home, None))
        if self.ended_at:
            out.append(("ENDED", self.ended_at, self.home, None))
        if self.tor_at:
            out.append(("TOR_ISSUED", self.tor_at, self.host, None))
        if self.cancelled_at:
            out.append(("CANCELLED", self.cancelled_at, self.home, None))
        return sorted(out, key=lambda e: e[1])


def features_for(rng: Rand, index: int, forced_order: list[str]) -> frozenset[str]:
    """Feature ``forced_order[index]`` for the first mobilities, then each at its rate; conflicts resolved."""
    chosen = {f for f in FEATURES if rng.chance(RATES[f])}
    if index < len(forced_order):
        chosen.add(forced_order[index])
    for cancel in ("cancel_before_la", "cancel_after_la"):
        if cancel in chosen:
            return frozenset({cancel})
    if "la_change_b" in chosen:
        chosen.add("la_change")
    if "revocation" in chosen:
        chosen -= {"fail_final", "missing_result", "no_tor"}
    if "fail_final" in chosen:
        chosen.discard("missing_result")
    if "no_tor" in chosen:
        chosen.discard("late_tor")
        if "fail_final" not in chosen:  # so that some group is still open when the year ends
            chosen.add("missing_result")
    return frozenset(chosen)


class MobilityMaker:
    """Builds mobilities of one simulation; host-side ids come from per-host generators."""

    def __init__(self, cal: Calendar, catalogues: dict[str, Catalogue], drawer: GradeDrawer,
                 guest_ids: dict[str, IdMaker], guest_records: dict[str, RecordIds]):
        self.cal, self.catalogues, self.drawer = cal, catalogues, drawer
        self.guest_ids, self.guest_records = guest_ids, guest_records

    def make(self, rng: Rand, student: Student, host: str, features: frozenset[str]) -> Mobility:
        cal, term = self.cal, rng.choice((1, 2))
        m = Mobility(
            omobility_id=rng.uuid(), student=student, guest=None, host=host, term=term, features=features,
            nominated_at=rng.office_time(rng.day_between(*cal.nomination(term))),
            planned_start=cal.term_start(term), planned_end=cal.term_end(term),
        )
        if "cancel_before_la" in features:
            m.cancelled_at = m.nominated_at + timedelta(days=rng.randint(10, 40), hours=rng.randint(0, 5))
            return m
        m.versions.append(self._first_version(rng, m))
        if "cancel_after_la" in features:
            first_arrival = datetime.combine(cal.arrival(term)[0], datetime.min.time(), m.nominated_at.tzinfo)
            days = max(2, (first_arrival - m.versions[0].approved_at).days - 1)
            m.cancelled_at = m.versions[0].approved_at + timedelta(days=rng.randint(1, days), hours=rng.randint(0, 5))
            return m
        self._stay(rng, m)
        return m

    def _first_version(self, rng: Rand, m: Mobility) -> LaVersion:
        host_cat, home_cat = self.catalogues[m.host], self.catalogues[m.home]
        field_at_host = m.student.isced if host_cat.pool(m.term, m.student.isced) else rng.choice(sorted({c.isced for c in host_cat.courses}))
        studied = choose_courses(rng, host_cat, m.term, field_at_host, Decimal(27), limit=7)
        recognized = choose_courses(rng, home_cat, m.term, m.student.isced, Decimal(27), limit=6)
        approved = rng.office_time(rng.day_between(*self.cal.la_approval(m.term)))
        v = LaVersion(1, *self._signatures(rng, approved), studied, recognized)
        if "explicit_groups" in m.features and len(studied) >= 2 and len(recognized) >= 2:
            n = min(len(studied), len(recognized), rng.choice((2, 3)))
            a, b = rng.sample(studied, len(studied)), rng.sample(recognized, len(recognized))
            v.groups = [(f"G{i + 1}", [c.code for c in a[i::n]], [c.code for c in b[i::n]]) for i in range(n)]
        if "conditions" in m.features:
            v.conditions = {rng.choice(recognized).code: rng.choice(CONDITIONS)}
        return v

    @staticmethod
    def _signatures(rng: Rand, approved: datetime) -> tuple[datetime, datetime, datetime]:
        sending = approved - timedelta(days=rng.randint(1, 3), minutes=rng.randint(0, 300))
        return sending - timedelta(days=rng.randint(0, 4), minutes=rng.randint(5, 300)), sending, approved

    def _stay(self, rng: Rand, m: Mobility) -> None:
        cal, host_cat = self.cal, self.catalogues[m.host]
        m.started_at = rng.office_time(rng.day_between(*cal.arrival(m.term)))
        m.guest = guest = as_incoming(m.student, m.host, self.guest_ids[m.host])
        ids = self.guest_records[m.host]
        recs = m.host_records
        recs.append(student_record(guest, ms(m.started_at - timedelta(days=rng.randint(2, 6)))))
        enrolments: dict[str, str] = {}
        for c in m.versions[0].studied:
            enrolments[c.code] = ids.enrolment()
            recs.append(enrolment_record(guest, c, enrolments[c.code], 1, "REGISTERED",
                                         m.started_at + timedelta(days=rng.randint(0, 6), minutes=rng.randint(1, 600))))
        if "la_change" in m.features:
            self._change(rng, m, enrolments)
        final = m.versions[-1]
        m.host_schemes.update({c.code: c.scheme_id for v in m.versions for c in v.studied})
        courses = list(final.studied)
        graded_courses = [c for c in courses if not SCHEMES[c.scheme_id].pass_fail_only]
        target = dict.fromkeys(("fail_then_pass", "fail_final", "missing_result"))
        free = rng.sample(courses, len(courses))
        for feature in target:
            if feature in m.features and free:
                target[feature] = free.pop().code
        corrected = rng.choice(graded_courses).code if "correction" in m.features and graded_courses else None
        last = m.started_at
        for c in courses:
            if c.code == target["missing_result"]:
                continue
            exam = rng.office_time(rng.day_between(*cal.exams(m.term)))
            first_pass = c.code not in (target["fail_then_pass"], target["fail_final"])
            rs = result_history(rng, guest, c, ids, enrolments[c.code], 1, first_pass, exam, self.drawer, 0.0, 0.0)
            if not first_pass and (c.code == target["fail_then_pass"] or rng.chance(0.5)):
                resit = rng.office_time(rng.day_between(*cal.resits(m.term)))
                rs += result_history(rng, guest, c, ids, enrolments[c.code], 2, c.code == target["fail_then_pass"],
                                     resit, self.drawer, 0.0, 0.0)
            if c.code == corrected and rs[-1]["st"] == "FINAL":
                rs.append(self._correction(rng, rs[-1], c))
            recs.extend(rs)
            last = max(last, max(_when(r) for r in rs))
        if "outside_la" in m.features:
            taken = {c.code for v in m.versions for c in v.studied}
            extra = [c for c in host_cat.term_courses(m.term) if c.code not in taken]
            if extra:
                c = rng.choice(extra)
                m.outside.append(c.code)
                m.host_schemes[c.code] = c.scheme_id
                rid = ids.enrolment()
                recs.append(enrolment_record(guest, c, rid, 1, "REGISTERED", m.started_at + timedelta(days=rng.randint(10, 20))))
                exam = rng.office_time(rng.day_between(*cal.exams(m.term)))
                rs = result_history(rng, guest, c, ids, rid, 1, rng.chance(0.85), exam, self.drawer, 0.0, 0.0)
                recs.extend(rs)
                last = max(last, max(_when(r) for r in rs))
        m.ended_at = rng.office_time(rng.day_between(*cal.departure(m.term)))
        if "pending_proposal" in m.features:
            taken = {c.code for v in m.versions for c in v.studied} | set(m.outside)
            extra = [c for c in host_cat.term_courses(m.term) if c.code not in taken]
            if extra:
                signed = m.versions[-1].approved_at + timedelta(days=rng.randint(10, 40), minutes=rng.randint(0, 600))
                m.proposal = (rng.choice(extra), signed, signed + timedelta(days=rng.randint(1, 4), minutes=rng.randint(0, 600)))
        if "no_tor" not in m.features:
            days = rng.randint(36, 75) if "late_tor" in m.features else rng.randint(7, 30)
            earliest = max(m.ended_at + timedelta(days=days), last + timedelta(days=2))
            m.tor_at = rng.office_time(earliest.date())
            if m.tor_at < earliest:
                m.tor_at = rng.office_time((earliest + timedelta(days=1)).date())
        if "revocation" in m.features and m.tor_at:
            self._revoke(rng, m)

    def _change(self, rng: Rand, m: Mobility, enrolments: dict[str, str]) -> None:
        v1 = m.versions[0]
        approved = rng.office_time(rng.day_between(*self.cal.la_change(m.term)))
        studied, recognized = list(v1.studied), list(v1.recognized)
        changes: list[tuple[str, str, Course, str]] = []
        swaps: dict[str, str] = {}
        host_cat, home_cat = self.catalogues[m.host], self.catalogues[m.home]
        pairs = [("A", studied, host_cat)] + ([("B", recognized, home_cat)] if "la_change_b" in m.features else [])
        for table, items, cat in pairs:
            old = rng.choice(items)
            taken = {c.code for c in items}
            options = [c for c in cat.pool(m.term, old.isced) if c.code not in taken] or \
                [c for c in cat.term_courses(m.term) if c.code not in taken]
            if not options:
                continue
            new = rng.choice(options)
            items[items.index(old)] = new
            swaps[old.code] = new.code
            changes += [(table, "deleted", old, rng.choice(_DELETE_REASONS)), (table, "inserted", new, "substituting-deleted")]
        v2 = LaVersion(2, *self._signatures(rng, approved), studied, recognized,
                       conditions={k: t for k, t in v1.conditions.items() if k not in swaps},
                       groups=[(g, [swaps.get(a, a) for a in sa], [swaps.get(b, b) for b in sb]) for g, sa, sb in v1.groups],
                       changes=changes)
        m.versions.append(v2)
        guest = m.guest
        assert guest is not None
        ids = self.guest_records[m.host]
        for table, status, course, _ in changes:
            if table != "A":
                continue
            if status == "deleted":
                rid = enrolments.pop(course.code)
                m.host_records.append(enrolment_record(guest, course, rid, 2, "WITHDRAWN", approved + timedelta(hours=rng.randint(1, 48))))
            else:
                enrolments[course.code] = ids.enrolment()
                m.host_records.append(enrolment_record(guest, course, enrolments[course.code], 1, "REGISTERED",
                                                       approved + timedelta(hours=rng.randint(1, 48))))

    def _correction(self, rng: Rand, last: Record, course: Course) -> Record:
        canonical = SCHEMES[course.scheme_id].normalise(last["label"])
        other = self.drawer.other_passing(rng, course, canonical) if canonical in SCHEMES[course.scheme_id].passing else \
            self.drawer.passing(rng, course)
        return {**last, "v": last["v"] + 1, "st": "CORRECTED", "label": printed(rng, course.scheme_id, other or canonical),
                "t": last["t"] + 86_400_000 * rng.randint(3, 10) + 1000 * rng.randint(0, 3600)}

    def _revoke(self, rng: Rand, m: Mobility) -> None:
        finals: dict[str, Record] = {}
        for r in m.host_records:
            if r["k"] == "grade" and r["code"] not in m.outside:
                prev = finals.get(r["code"])
                if prev is None or (r["att"], r["t"]) > (prev["att"], prev["t"]):
                    finals[r["code"]] = r
        passed = [r for code, r in finals.items() if SCHEMES[m.host_schemes[code]].is_pass(r["label"])]
        if not passed or m.tor_at is None:
            return
        r = rng.choice(passed)
        m.host_records.append({**r, "v": r["v"] + 1, "st": "REVOKED",
                               "t": ms(m.tor_at) + 86_400_000 * rng.randint(5, 30) + 1000 * rng.randint(0, 3600)})


def _when(r: Record) -> datetime:
    return from_ms(r["t"])
