"""What pages and API routes share: scoped reads, registrar decisions, the monitor's view per role.

Routes parse the request and render; everything that decides what a user may
see or do is here, so the HTML pages and the JSON API cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from schemas.models import DecisionStatus, RegistrarAction, RegistrarDecision, now_utc

from .accounts import Principal, Role
from .app import WebState
from .readmodel import DecisionDetail, DecisionPage, DecisionQuery, MonitorData
from .security import WebError, home_scope, sees_mobility_ids

__all__ = ["DecideItem", "MAX_BATCH", "MAX_REASON", "cached_inbox", "decide", "detail", "inbox", "monitor_view", "parse_statuses", "pending_for"]

MAX_BATCH = 500
MAX_REASON = 1000
READERS = (Role.REGISTRAR, Role.ADMIN)
# what the recogniser accepts a registrar decision for (streams.ledger.registrar agrees)
DECIDABLE = (DecisionStatus.NEEDS_REVIEW, DecisionStatus.NOT_RECOGNISED, DecisionStatus.MANUALLY_RECOGNISED, DecisionStatus.REJECTED)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class DecideItem:
    omobility_id: str
    home_component: str
    decision_id: str | None = None  # the version the registrar looked at; a newer one answers 409


def parse_statuses(values: list[str]) -> tuple[DecisionStatus, ...]:
    out = []
    for v in values:
        for part in v.split(","):
            if not part.strip():
                continue
            try:
                out.append(DecisionStatus(part.strip().upper()))
            except ValueError:
                raise WebError(422, f"unknown status {part.strip()[:40]!r}: use one of {', '.join(s.value for s in DecisionStatus)}") from None
    return tuple(dict.fromkeys(out))


def inbox(state: WebState, p: Principal, hei: str | None, query: DecisionQuery) -> tuple[str | None, DecisionPage]:
    """The inbox page of ``p``'s scope; answers are cached per ledger version (registrars reload often, the ledger
    changes in batches), so a page is computed once per ledger change and scope, whoever asks and however many
    ask at once."""
    if p.role not in READERS:
        raise WebError(403, f"the {p.role.value} role has no inbox: it sees the monitor")
    scope = home_scope(p, hei)
    from .live import ledger_version

    key = (ledger_version(state), scope, query)
    return scope, state.pages.get(key, lambda: state.model.decisions(scope, query))


def cached_inbox(state: WebState, p: Principal, hei: str | None, query: DecisionQuery) -> tuple[str | None, DecisionPage] | None:
    """:func:`inbox` when its answer is at hand without the database (a fresh change token, the page cached), else None:
    the common case of a registrar reloading is then served on the event loop, without a thread hop."""
    if p.role not in READERS:
        return None
    from .live import fresh_version

    version = fresh_version(state)
    if version is None:
        return None
    scope = home_scope(p, hei)
    page = state.pages.peek((version, scope, query))
    return None if page is None else (scope, page)


def detail(state: WebState, p: Principal, hei: str | None, omobility_id: str, component: str) -> DecisionDetail:
    if p.role not in READERS:
        raise WebError(403, f"the {p.role.value} role cannot open decisions")
    found = state.model.decision(home_scope(p, hei), omobility_id, component)
    if found is None:
        raise WebError(404, "not found")
    return found


def pending_for(state: WebState, d: DecisionDetail) -> dict | None:
    """The registrar decision sent for this item and not yet in the ledger, if any."""
    key = (d.current.omobility_id, d.current.home_component)
    sent = state.pending.get(key)
    if sent and sent["decision_id"] != d.current.decision_id:
        state.pending.pop(key, None)  # the ledger has moved on
        return None
    return sent


def _reason(text: str) -> str:
    reason = _CONTROL.sub("", text or "").strip()
    if not reason:
        raise WebError(422, "give a reason: it is kept with the decision and shown to the student's home SIS")
    if len(reason) > MAX_REASON:
        raise WebError(422, f"the reason is {len(reason)} characters long; keep it under {MAX_REASON}")
    return reason


def decide(state: WebState, p: Principal, items: list[DecideItem], action: str, reason: str) -> list[RegistrarDecision]:
    """Approve or reject reviewable items of the registrar's own institution; all or nothing is published."""
    if p.role is not Role.REGISTRAR or not p.hei:
        raise WebError(403, "only a registrar of the student's home institution approves or rejects")
    try:
        act = RegistrarAction(action.upper())
    except (ValueError, AttributeError):
        raise WebError(422, "action must be APPROVE or REJECT") from None
    text = _reason(reason)
    if not items:
        raise WebError(422, "choose at least one decision")
    if len(items) > MAX_BATCH:
        raise WebError(422, f"{len(items)} decisions at once; at most {MAX_BATCH}")
    out: list[RegistrarDecision] = []
    esis: dict[str, str] = {}
    for item in dict.fromkeys(items):
        found = state.model.decision(p.hei, item.omobility_id, item.home_component)
        if found is None:
            raise WebError(404, "not found")
        cur = found.current
        if item.decision_id and item.decision_id != cur.decision_id:
            raise WebError(409, f"{cur.home_component} of {cur.omobility_id} changed since you opened it (now version {cur.version}); reload and decide again")
        if cur.status not in DECIDABLE:
            raise WebError(409, f"{cur.home_component} of {cur.omobility_id} is {cur.status.value}: registrars decide NEEDS_REVIEW and "
                                "NOT_RECOGNISED items (and may revise their own MANUALLY_RECOGNISED or REJECTED ones)")
        if found.current.decision_id in {d.decision_id for d in out}:
            continue
        esis[cur.decision_id] = cur.student_esi
        out.append(RegistrarDecision(source_hei=p.hei, occurred_at=now_utc(), decision_id=cur.decision_id, omobility_id=cur.omobility_id,
                                     home_hei=p.hei, home_component=cur.home_component, action=act, reason=text, registrar=p.name))
    if state.publisher is None:
        raise WebError(503, "this web app runs without Kafka (no --bootstrap-servers), so decisions cannot be sent")
    state.publisher.publish(out, esis)
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for d in out:
        state.pending[(d.omobility_id, d.home_component)] = {"decision_id": d.decision_id, "action": d.action.value, "registrar": d.registrar, "at": at}
    return out


def monitor_view(data: MonitorData, p: Principal) -> dict:
    """The monitor as JSON-ready data for ``p``: aggregates for all, mobility ids only where ``p`` may see them."""
    deadlines = []
    for row in data.deadlines:
        deadlines.append({
            "omobility_id": row.omobility_id if sees_mobility_ids(p, row.sending_hei, row.receiving_hei) else None,
            "sending_hei": row.sending_hei, "receiving_hei": row.receiving_hei, "deadline": row.deadline,
            "severity": row.severity, "responsible_hei": row.responsible_hei, "due_on": row.due_on.isoformat(), "days_left": row.days_left,
        })
    return {
        "flows": [{"sending_hei": s, "receiving_hei": r, "mobilities": n} for (s, r), n in sorted(data.flows.items())],
        "funnel": {stage.value: n for stage, n in data.funnel.items()},
        "cancelled": data.cancelled,
        "ects": [{"sending_hei": s, "receiving_hei": r, "planned": float(pl), "recognised": float(rc)} for (s, r), (pl, rc) in sorted(data.ects.items())],
        "deadlines": deadlines,
        "as_of": data.as_of.isoformat() if data.as_of else None,
        "decisions": {s.value: n for s, n in data.decisions.items()},
    }
