"""A :class:`~hub.web.readmodel.ReadModel` held in memory and fed event by event.

For demos from an events file (``hub web --events``) and for tests of the pages
that need no ledger database.  Semantics follow the ledger: the current decision
of a (mobility, home component) is its highest version; earlier versions are its
history; a mobility's status is its latest ``MobilityStatus``.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import Counter
from dataclasses import replace
from decimal import Decimal

from schemas.canonical import to_json
from schemas.models import DeadlineAlert, Event, MobilityState, MobilityStatus, RecognitionDecision

from .readmodel import FUNNEL, DeadlineRow, DecisionDetail, DecisionPage, DecisionQuery, DecisionRow, MobilityRow, MonitorData, StudentRow

__all__ = ["MemoryReadModel", "decision_row", "mobility_row", "matches"]

EXPORT_FIELDS = ("decision_id", "omobility_id", "student_esi", "home_hei", "host_hei", "home_component", "home_component_title",
                 "version", "status", "ects", "converted_grade", "home_scheme_id", "rule", "reason", "decided_by")


def decision_row(d: RecognitionDecision) -> DecisionRow:
    return DecisionRow(d.decision_id, d.omobility_id, d.student_esi, d.home_hei, d.host_hei, d.home_component, d.home_component_title,
                       d.version, d.status, d.ects, d.converted_grade, d.rule, d.reason, d.recorded_at)


def mobility_row(s: MobilityStatus) -> MobilityRow:
    return MobilityRow(s.omobility_id, s.student_esi, s.sending_hei, s.receiving_hei, s.state, s.la_version, s.ects_planned,
                       s.ects_recognised, s.started_on, s.ended_on, s.tor_issued_on)


def matches(row: DecisionRow, q: DecisionQuery) -> bool:
    if q.status and row.status not in q.status:
        return False
    if q.host_hei and row.host_hei != q.host_hei:
        return False
    if q.omobility_id and row.omobility_id != q.omobility_id:
        return False
    if q.text:
        needle = q.text.casefold()
        hay = (row.student_esi, row.omobility_id, row.home_component, row.home_component_title, row.host_hei)
        return any(needle in h.casefold() for h in hay)
    return True


class MemoryReadModel:
    """Thread-safe; ``apply`` takes RecognitionDecision, MobilityStatus and DeadlineAlert events and ignores others."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[tuple[str, str], dict[int, RecognitionDecision]] = {}
        self._status: dict[str, MobilityStatus] = {}
        self._alerts: dict[tuple[str, str], DeadlineAlert] = {}
        self._changes = 0

    def apply(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, RecognitionDecision):
                self._versions.setdefault((event.omobility_id, event.home_component), {})[event.version] = event
            elif isinstance(event, MobilityStatus):
                self._status[event.omobility_id] = event
            elif isinstance(event, DeadlineAlert):
                self._alerts[(event.omobility_id, event.deadline.value)] = event
            else:
                return
            self._changes += 1

    def version(self) -> str:
        return str(self._changes)

    def _current(self, home_hei: str | None) -> list[RecognitionDecision]:
        with self._lock:
            found = [v[max(v)] for v in self._versions.values()]
        return [d for d in found if home_hei is None or d.home_hei == home_hei]

    def decisions(self, home_hei: str | None, query: DecisionQuery) -> DecisionPage:
        rows = sorted((decision_row(d) for d in self._current(home_hei)), key=lambda r: (r.decided_at, r.decision_id), reverse=True)
        counts = Counter(r.status for r in rows if matches(r, replace(query, status=())))
        hits = [r for r in rows if matches(r, query)]
        return DecisionPage(hits[query.offset:query.offset + query.limit], len(hits), dict(counts))

    def decision(self, home_hei: str | None, omobility_id: str, home_component: str) -> DecisionDetail | None:
        with self._lock:
            versions = dict(self._versions.get((omobility_id, home_component), {}))
            status = self._status.get(omobility_id)
        if not versions:
            return None
        ordered = [versions[v] for v in sorted(versions, reverse=True)]
        if home_hei is not None and ordered[0].home_hei != home_hei:
            return None
        return DecisionDetail(ordered[0], ordered[1:], mobility_row(status) if status else None)

    def students(self, home_hei: str | None, text: str = "", limit: int = 100, offset: int = 0) -> tuple[list[StudentRow], int]:
        with self._lock:
            statuses = [s for s in self._status.values() if home_hei is None or s.sending_hei == home_hei]
        per_student: dict[str, list[MobilityRow]] = {}
        for s in statuses:
            per_student.setdefault(s.student_esi, []).append(mobility_row(s))
        counts: dict[str, Counter] = {}
        for d in self._current(home_hei):
            counts.setdefault(d.student_esi, Counter())[d.status] += 1
        needle = text.casefold()
        keys = sorted(k for k, ms in per_student.items() if not needle or needle in k.casefold() or any(needle in m.omobility_id.casefold() for m in ms))
        rows = [StudentRow(k, per_student[k], dict(counts.get(k, {}))) for k in keys[offset:offset + limit]]
        return rows, len(keys)

    def monitor(self) -> MonitorData:
        with self._lock:
            statuses = list(self._status.values())
            alerts = list(self._alerts.values())
        data = MonitorData()
        order = {s: i for i, s in enumerate(FUNNEL)}
        for s in statuses:
            pair = (s.sending_hei, s.receiving_hei)
            data.flows[pair] = data.flows.get(pair, 0) + 1
            planned, recognised = data.ects.get(pair, (Decimal(0), Decimal(0)))
            data.ects[pair] = (planned + s.ects_planned, recognised + s.ects_recognised)
            if s.state is MobilityState.CANCELLED:
                data.cancelled += 1
                continue
            for stage in FUNNEL[: order[s.state] + 1]:
                data.funnel[stage] = data.funnel.get(stage, 0) + 1
        data.deadlines = sorted((_deadline(a) for a in alerts), key=lambda r: r.days_left)
        data.decisions = dict(Counter(d.status for d in self._current(None)))
        return data

    def export(self, home_hei: str, fmt: str) -> str:
        rows = sorted(self._current(home_hei), key=lambda d: (d.omobility_id, d.home_component))
        if fmt == "json":
            return "".join(to_json(d) + "\n" for d in rows)
        out = io.StringIO()
        writer = csv.DictWriter(out, EXPORT_FIELDS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for d in rows:
            data = json.loads(to_json(d))
            writer.writerow({k: data.get(k) for k in EXPORT_FIELDS})
        return out.getvalue()


def _deadline(a: DeadlineAlert) -> DeadlineRow:
    return DeadlineRow(a.alert_id, a.omobility_id, a.sending_hei, a.receiving_hei, a.deadline.value, a.severity.value,
                       a.responsible_hei, a.due_on, a.days_left)

