"""The :class:`~hub.web.readmodel.ReadModel` over the ledger's tables (``streams.ledger.schema``).

Every query that returns student data filters on the home institution in SQL.
Deadline alerts shown are the latest per (mobility, deadline) whose mobility has
not moved past that deadline (a ToR deadline is met once the ToR is issued, a
recognition deadline once the mobility is recognised).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from schemas.models import (
    DecisionStatus,
    MobilityState,
    Provenance,
    RecognitionDecision,
)
from streams.ledger.schema import (
    agreements,
    alerts,
    decisions,
    history,
    mobilities,
    offsets,
)
from streams.ledger.store import Ledger, agreement_of

from .agreement import latest_grades
from .export import render_export
from .readmodel import (
    FUNNEL,
    DeadlineRow,
    DecisionDetail,
    DecisionPage,
    DecisionQuery,
    DecisionRow,
    MobilityRow,
    MonitorData,
    StudentRow,
)

__all__ = ["LedgerReadModel"]

_DONE = {"TOR_ISSUE": ("TOR_ISSUED", "RECOGNISED"), "RECOGNITION": ("RECOGNISED",)}


def _like(text: str) -> str:
    escaped = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; the ledger writes UTC
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _row(r: Any) -> DecisionRow:
    return DecisionRow(r.decision_id, r.omobility_id, r.student_esi, r.home_hei, r.host_hei, r.home_component, r.home_component_title,
                       r.version, DecisionStatus(r.status), Decimal(str(r.ects)), r.converted_grade, r.rule, r.reason, _utc(r.occurred_at))


def _mobility(r: Any) -> MobilityRow:
    return MobilityRow(r.omobility_id, r.student_esi, r.sending_hei, r.receiving_hei, MobilityState(r.state), r.la_version,
                       Decimal(str(r.ects_planned)), Decimal(str(r.ects_recognised)), r.started_on, r.ended_on, r.tor_issued_on)


def _provenance(text: str) -> Provenance:
    try:
        return Provenance.model_validate_json(text)
    except ValueError:
        return Provenance(la_version=0, group_id="(provenance unreadable)")


def _decision(h: Any, title: str) -> RecognitionDecision:
    """A history row back into the event it was written from (source = home institution, recorded = event time)."""
    provenance = _provenance(h.provenance)
    return RecognitionDecision(
        event_id=h.event_id, source_hei=h.home_hei, occurred_at=_utc(h.occurred_at), recorded_at=_utc(h.occurred_at), trace_id=h.trace_id or "",
        decision_id=h.decision_id, omobility_id=h.omobility_id, student_esi=h.student_esi, home_hei=h.home_hei, host_hei=h.host_hei,
        home_component=h.home_component, home_component_title=title, version=h.version, status=DecisionStatus(h.status),
        ects=Decimal(str(h.ects)), converted_grade=h.converted_grade, home_scheme_id=h.home_scheme_id, rule=h.rule, reason=h.reason,
        supersedes=h.supersedes, decided_by=h.decided_by, provenance=provenance,
    )


class LedgerReadModel:
    """Reads the ledger's tables through the ledger's own engine; exports through the ledger's own query."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.engine: sa.Engine = ledger.engine

    def version(self) -> str:
        # the writer commits its Kafka offsets with every batch, so their sum moves whenever rows do;
        # the counts cover writes made without offsets (loads, tests)
        with self.engine.connect() as db:
            off = db.execute(sa.select(sa.func.coalesce(sa.func.sum(offsets.c.next_offset), 0))).scalar_one()
            hist = db.execute(sa.select(sa.func.count()).select_from(history)).scalar_one()
            last = db.execute(sa.select(sa.func.max(mobilities.c.occurred_at), sa.func.count()).select_from(mobilities)).one()
            nalerts = db.execute(sa.select(sa.func.count()).select_from(alerts)).scalar_one()
        return f"{off}.{hist}.{last[1]}.{last[0]}.{nalerts}"

    def _where(self, home_hei: str | None, q: DecisionQuery, with_status: bool) -> list[Any]:
        c = decisions.c
        conds: list[Any] = []
        if home_hei is not None:
            conds.append(c.home_hei == home_hei)
        if with_status and q.status:
            conds.append(c.status.in_([s.value for s in q.status]))
        if q.host_hei:
            conds.append(c.host_hei == q.host_hei)
        if q.omobility_id:
            conds.append(c.omobility_id == q.omobility_id)
        if q.text:
            pat = _like(q.text)
            conds.append(sa.or_(*(sa.func.lower(col).like(pat, escape="\\") for col in
                                  (c.student_esi, c.omobility_id, c.home_component, c.home_component_title, c.host_hei))))
        return conds

    def decisions(self, home_hei: str | None, query: DecisionQuery) -> DecisionPage:
        c = decisions.c
        where = self._where(home_hei, query, True)
        page = (sa.select(decisions).where(*where).order_by(c.occurred_at.desc(), c.decision_id.desc()).limit(query.limit).offset(query.offset))
        # counts per status under every filter but the status one; the total follows from them
        facets = sa.select(c.status, sa.func.count()).where(*self._where(home_hei, query, False)).group_by(c.status)
        with self.engine.connect() as db:
            items = [_row(r) for r in db.execute(page)]
            counts = {DecisionStatus(s): n for s, n in db.execute(facets)}
        total = sum(n for s, n in counts.items() if not query.status or s in query.status)
        return DecisionPage(items, total, counts)

    def decision(self, home_hei: str | None, omobility_id: str, home_component: str) -> DecisionDetail | None:
        c = decisions.c
        cond = [c.omobility_id == omobility_id, c.home_component == home_component]
        if home_hei is not None:
            cond.append(c.home_hei == home_hei)
        with self.engine.connect() as db:
            cur = db.execute(sa.select(decisions).where(*cond)).first()
            if cur is None:
                return None
            rows = db.execute(sa.select(history).where(history.c.omobility_id == omobility_id, history.c.home_component == home_component)
                              .order_by(history.c.version.desc())).all()
            mob = db.execute(sa.select(mobilities).where(mobilities.c.omobility_id == omobility_id)).first()
            las = db.execute(sa.select(agreements).where(agreements.c.omobility_id == omobility_id).order_by(agreements.c.version)).all()
            # host grades of the mobility: what its other current decisions used (older first), then this one's
            h, d = history.c, decisions.c
            others = sa.and_(d.omobility_id == omobility_id, d.home_hei == cur.home_hei, d.home_component != home_component)
            used = db.execute(sa.select(h.provenance).join(decisions, sa.and_(d.decision_id == h.decision_id, d.version == h.version))
                              .where(others).order_by(h.occurred_at)).scalars().all()
        versions = [_decision(h, cur.home_component_title) for h in rows]
        current = next((v for v in versions if v.decision_id == cur.decision_id and v.version == cur.version), None)
        if current is None:  # the current row without its history line: show what the row itself knows
            current = _decision(_CurrentAsHistory(cur), cur.home_component_title)
        earlier = [v for v in versions if v is not current and v.version < current.version]
        grades = latest_grades([_provenance(p).host_grades for p in used] + [current.provenance.host_grades])
        return DecisionDetail(current, earlier, _mobility(mob) if mob else None, tuple(agreement_of(r) for r in las), grades)

    def students(self, home_hei: str | None, text: str = "", limit: int = 100, offset: int = 0) -> tuple[list[StudentRow], int]:
        m = mobilities.c
        conds: list[Any] = [m.sending_hei == home_hei] if home_hei is not None else []
        if text:
            pat = _like(text)
            conds.append(sa.or_(sa.func.lower(m.student_esi).like(pat, escape="\\"), sa.func.lower(m.omobility_id).like(pat, escape="\\")))
        with self.engine.connect() as db:
            total = db.execute(sa.select(sa.func.count(sa.distinct(m.student_esi))).where(*conds)).scalar_one()
            keys = [r[0] for r in db.execute(sa.select(m.student_esi).where(*conds).group_by(m.student_esi).order_by(m.student_esi).limit(limit).offset(offset))]
            if not keys:
                return [], total
            scope = [m.sending_hei == home_hei] if home_hei is not None else []
            mobs = db.execute(sa.select(mobilities).where(m.student_esi.in_(keys), *scope).order_by(m.omobility_id)).all()
            d = decisions.c
            dscope = [d.home_hei == home_hei] if home_hei is not None else []
            counted = db.execute(sa.select(d.student_esi, d.status, sa.func.count()).where(d.student_esi.in_(keys), *dscope).group_by(d.student_esi, d.status)).all()
        per: dict[str, list[MobilityRow]] = {k: [] for k in keys}
        for r in mobs:
            per[r.student_esi].append(_mobility(r))
        counts: dict[str, dict[DecisionStatus, int]] = {k: {} for k in keys}
        for esi, status, n in counted:
            counts[esi][DecisionStatus(status)] = n
        return [StudentRow(k, per[k], counts[k]) for k in keys], total

    def monitor(self) -> MonitorData:
        m, a = mobilities.c, alerts.c
        data = MonitorData()
        with self.engine.connect() as db:
            pairs = db.execute(sa.select(m.sending_hei, m.receiving_hei, sa.func.count(), sa.func.sum(m.ects_planned), sa.func.sum(m.ects_recognised))
                               .group_by(m.sending_hei, m.receiving_hei)).all()
            states = dict(db.execute(sa.select(m.state, sa.func.count()).group_by(m.state)).all())
            data.decisions = {DecisionStatus(s): n for s, n in db.execute(sa.select(decisions.c.status, sa.func.count()).group_by(decisions.c.status))}
            raw = db.execute(sa.select(alerts, m.state).join(mobilities, m.omobility_id == a.omobility_id, isouter=True)
                             .order_by(a.raised_at, a.alert_id)).all()
            clock = [db.execute(sa.select(sa.func.max(m.occurred_at))).scalar_one(), db.execute(sa.select(sa.func.max(a.raised_at))).scalar_one()]
        for sending, receiving, n, planned, recognised in pairs:
            data.flows[(sending, receiving)] = n
            data.ects[(sending, receiving)] = (Decimal(str(planned or 0)), Decimal(str(recognised or 0)))
        order = {s.value: i for i, s in enumerate(FUNNEL)}
        for state, n in states.items():
            if state == MobilityState.CANCELLED.value:
                data.cancelled += n
                continue
            for stage in FUNNEL[: order.get(state, -1) + 1]:
                data.funnel[stage] = data.funnel.get(stage, 0) + n
        latest: dict[tuple[str, str], Any] = {}
        for r in raw:
            latest[(r.omobility_id, r.deadline)] = r
        open_alerts = [r for r in latest.values() if r.state not in _DONE.get(r.deadline, ())]
        seen = [_utc(c) for c in clock if c is not None]
        data.as_of = max(seen).date() if seen else None
        rows = []
        for r in open_alerts:
            # days are counted on the hub's event-time clock, so they keep counting after the alert was raised
            days = (r.due_on - data.as_of).days if data.as_of else r.days_left
            rows.append(DeadlineRow(r.alert_id, r.omobility_id, r.sending_hei, r.receiving_hei, r.deadline,
                                    "BREACH" if days < 0 else r.severity, r.responsible_hei, r.due_on, days))
        data.deadlines = sorted(rows, key=lambda d: (d.days_left, d.omobility_id))
        return data

    def export(self, home_hei: str, fmt: str) -> str:
        return render_export(self.ledger.export(home_hei), fmt)


class _CurrentAsHistory:
    """Adapts a ``ledger_decisions`` row to the attributes :func:`_decision` reads from a history row."""

    def __init__(self, row: Any) -> None:
        self._row = row
        self.provenance = json.dumps({"la_version": 0, "group_id": "(history missing)"})
        self.event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ledger-decision:{row.decision_id}"))
        self.trace_id = ""
        self.supersedes = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)

