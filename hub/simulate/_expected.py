"""Expected outcomes, from what the simulator generated (never from the hub's recognition code).

Decisions (DESIGN.md §6), per mobility and home component, on the final state of the
generated facts:

- groups: the LA's explicit recognition groups, else each Table B component with all of Table A;
- AUTO_RECOGNISED: every Table A component of the group finally passed and the B component has no
  recognition conditions (``ects`` = its Table B ECTS);
- NEEDS_REVIEW (``ects`` 0): all passed but the B component has recognition conditions; or the ToR
  was issued with a result missing; or a host grade for a course outside the LA (``home_component``
  is then the host course code);
- NOT_RECOGNISED (``ects`` 0): the ToR was issued and a component of the group finally failed;
- REVOKED (``ects`` 0): a component that left Table B in a later LA version, a group whose passed grade
  was revoked, every Table B component of a mobility cancelled after its LA was approved;
- no line for a group still pending (no ToR and a result missing or failed).

"Finally" means: per result the latest version (REVOKED > CORRECTED > FINAL), per course the latest
live attempt by (attempt, assessed_on, event time).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from hub.simulate._mobility import LaVersion, Mobility
from hub.simulate._rand import iso
from schemas.grading import SCHEMES

TOR_DAYS = 35
RECOGNITION_DAYS = 35
WARNING_DAYS = 7
_PRECEDENCE = {"FINAL": 0, "CORRECTED": 1, "REVOKED": 2}


def groups_of(v: LaVersion) -> list[tuple[str, list[str], list[str]]]:
    """Explicit groups, else one group per Table B component with all of Table A."""
    if v.groups:
        return v.groups
    return [(f"B:{b.code}", [a.code for a in v.studied], [b.code]) for b in v.recognized]


def course_states(m: Mobility, until: int | None = None) -> dict[str, tuple[str, str | None]]:
    """Host course code -> (passed | failed | revoked, last label) on the final state of the results.

    With ``until`` (epoch ms), only results that happened by then count (what a ToR issued then shows).
    """
    latest: dict[str, dict[str, Any]] = {}
    for r in m.host_records:
        if r["k"] != "grade" or (until is not None and r["t"] > until):
            continue
        prev = latest.get(r["rid"])
        if prev is None or (_PRECEDENCE[r["st"]], r["t"]) > (_PRECEDENCE[prev["st"]], prev["t"]):
            latest[r["rid"]] = r
    by_course: dict[str, list[dict[str, Any]]] = {}
    for r in latest.values():
        by_course.setdefault(r["code"], []).append(r)
    states: dict[str, tuple[str, str | None]] = {}
    for code, results in by_course.items():
        live = [r for r in results if r["st"] != "REVOKED"]
        if not live:
            states[code] = ("revoked", None)
            continue
        last = max(live, key=lambda r: (r["att"], r["on"], r["t"]))
        states[code] = ("passed" if SCHEMES[m.host_schemes[code]].is_pass(last["label"]) else "failed", last["label"])
    return states


def decisions(m: Mobility) -> tuple[list[dict[str, Any]], list[str]]:
    """The expected decision lines of one mobility, and the ids of its groups still pending."""
    if not m.versions:
        return [], []
    latest = m.versions[-1]
    lines: list[dict[str, Any]] = []

    def line(component: str, status: str, ects: float, reason: str) -> None:
        lines.append({"omobility_id": m.omobility_id, "home_hei": m.home, "host_hei": m.host,
                      "student_esi": m.student.esi, "home_component": component, "status": status,
                      "ects": ects, "reason": reason})

    current_b = {c.code for c in latest.recognized}
    left: list[tuple[str, int]] = []
    for v in m.versions[:-1]:
        for c in v.recognized:
            if c.code not in current_b and c.code not in [code for code, _ in left]:
                left.append((c.code, latest.version))
    for code, version in left:
        line(code, "REVOKED", 0.0, f"left Table B in LA version {version}")
    if m.cancelled_at is not None:
        for c in latest.recognized:
            line(c.code, "REVOKED", 0.0, "mobility cancelled")
        return lines, []
    states = course_states(m)
    ects_b = {c.code: float(c.ects) for c in latest.recognized}
    pending: list[str] = []
    for group_id, studied, recognized in groups_of(latest):
        got = {a: states.get(a, ("missing", None)) for a in studied}
        kinds = {s for s, _ in got.values()}
        if kinds == {"passed"}:
            for b in recognized:
                if b in latest.conditions:
                    line(b, "NEEDS_REVIEW", 0.0, f"recognition conditions: {latest.conditions[b]}")
                else:
                    line(b, "AUTO_RECOGNISED", ects_b[b], f"passed {', '.join(studied)} (LA version {latest.version})")
        elif "revoked" in kinds and kinds <= {"passed", "revoked"}:
            revoked = [a for a, (s, _) in got.items() if s == "revoked"]
            for b in recognized:
                line(b, "REVOKED", 0.0, f"grade for {', '.join(revoked)} revoked")
        elif m.tor_at is not None and "failed" in kinds:
            failed = [f"{a} ({label})" for a, (s, label) in got.items() if s == "failed"]
            for b in recognized:
                line(b, "NOT_RECOGNISED", 0.0, f"failed at the host: {', '.join(failed)}")
        elif m.tor_at is not None:
            missing = [a for a, (s, _) in got.items() if s != "passed"]
            for b in recognized:
                line(b, "NEEDS_REVIEW", 0.0, f"ToR issued without a result for {', '.join(missing)}")
        else:
            pending.append(group_id)
    for code in m.outside:
        if code in states:
            line(code, "NEEDS_REVIEW", 0.0, f"host grade for {code} outside the learning agreement")
    return lines, pending


def deadline_alerts(m: Mobility, lines: list[dict[str, Any]], horizon: datetime) -> list[dict[str, Any]]:
    """ToR and recognition deadline warnings and breaches that event time up to ``horizon`` reaches.

    A warning fires at 00:00 UTC seven days before the due day if the ToR (or, for recognition, a
    decision on every NEEDS_REVIEW item) is still missing then; a breach fires at 00:00 UTC the day
    after the due day if it is still missing then.  Cancelled mobilities have no deadlines.
    """
    if m.cancelled_at is not None or m.ended_at is None:
        return []
    out: list[dict[str, Any]] = []

    def check(kind: str, responsible: str, due: date, done_at: datetime | None) -> None:
        for severity, moment, days_left in (
            ("WARNING", _midnight(due - timedelta(days=WARNING_DAYS)), WARNING_DAYS),
            ("BREACH", _midnight(due + timedelta(days=1)), -1),
        ):
            if moment <= horizon and (done_at is None or done_at >= moment):
                out.append({"omobility_id": m.omobility_id, "sending_hei": m.home, "receiving_hei": m.host,
                            "deadline": kind, "severity": severity, "responsible_hei": responsible,
                            "due_on": due.isoformat(), "raised_at": iso(moment), "days_left": days_left})

    check("TOR_ISSUE", m.host, m.ended_at.date() + timedelta(days=TOR_DAYS), m.tor_at)
    if m.tor_at is not None and any(x["status"] == "NEEDS_REVIEW" for x in lines):
        check("RECOGNITION", m.home, m.tor_at.date() + timedelta(days=RECOGNITION_DAYS), None)
    return out


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc)


def summary(m: Mobility, lines: list[dict[str, Any]], pending: list[str]) -> dict[str, Any]:
    """One line of expected/mobilities.jsonl: what happened to a mobility, for monitors and tests."""
    latest = m.versions[-1] if m.versions else None
    recognised = float(sum(x["ects"] for x in lines if x["status"] == "AUTO_RECOGNISED"))
    return {
        "omobility_id": m.omobility_id, "home_hei": m.home, "host_hei": m.host, "student_esi": m.student.esi,
        "term": m.term, "features": sorted(m.features), "lifecycle": [e[0] for e in m.lifecycle()],
        "la_versions": len(m.versions),
        "table_a": [c.code for c in latest.studied] if latest else [],
        "table_b": [c.code for c in latest.recognized] if latest else [],
        "groups": [{"group_id": g, "studied": a, "recognized": b} for g, a, b in groups_of(latest)] if latest else [],
        "explicit_groups": bool(latest and latest.groups),
        "pending_groups": pending,
        "ects_planned": float(sum(c.ects for c in latest.recognized)) if latest else 0.0,
        "ects_auto_recognised": recognised,
        "nominated_at": iso(m.nominated_at),
        "started_at": iso(m.started_at) if m.started_at else None,
        "ended_at": iso(m.ended_at) if m.ended_at else None,
        "tor_issued_at": iso(m.tor_at) if m.tor_at else None,
        "cancelled_at": iso(m.cancelled_at) if m.cancelled_at else None,
        "outside_la": list(m.outside),
    }
