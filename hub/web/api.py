"""The JSON API behind the pages (documented at ``/api/docs``), plus ``/metrics`` and ``/healthz``.

Same scope rules as the pages (``hub.web.service``): a registrar's answers hold
only their home institution's students; another institution's ids answer 404.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from schemas.canonical import to_json

from .accounts import Role
from .app import WebState
from .live import monitor_data
from .readmodel import DecisionQuery, DecisionRow, MobilityRow
from .security import WebError, check_csrf, home_scope, require
from .service import (
    MAX_BATCH,
    DecideItem,
    decide,
    detail,
    inbox,
    monitor_view,
    parse_statuses,
    pending_for,
)

_bearer = HTTPBearer(auto_error=False, description="`hub web token NAME` makes one; browsers use the session cookie instead")
router = APIRouter(prefix="/api", tags=["registrar"], dependencies=[Depends(_bearer)],
                   responses={401: {"description": "not signed in"}, 403: {"description": "role not allowed"}})
meta = APIRouter(tags=["operations"])

_ERRORS = {404: {"description": "unknown, or not of your institution"}, 422: {"description": "invalid parameters"}}


def _state(request: Request) -> WebState:
    return request.app.state.web


class Me(BaseModel):
    name: str
    role: str
    hei: str | None


class DecisionOut(BaseModel):
    decision_id: str
    omobility_id: str
    student_esi: str
    home_hei: str
    host_hei: str
    home_component: str
    home_component_title: str
    version: int
    status: str
    ects: float
    converted_grade: str | None
    rule: str
    reason: str
    decided_at: str


class DecisionList(BaseModel):
    total: int
    counts: dict[str, int]
    items: list[DecisionOut]


class MobilityOut(BaseModel):
    omobility_id: str
    student_esi: str
    sending_hei: str
    receiving_hei: str
    state: str
    la_version: int | None
    ects_planned: float
    ects_recognised: float


class ComponentChangeOut(BaseModel):
    table: Literal["A", "B"]
    change: Literal["added", "removed", "changed"]
    course_code: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: list[str] = Field(description="for a changed component: which fields differ")


class LaChangesOut(BaseModel):
    before: int
    after: int
    components: list[ComponentChangeOut]
    groups_changed: bool


class DecisionDetailOut(BaseModel):
    current: dict[str, Any] = Field(description="the current RecognitionDecision in canonical JSON, with its provenance")
    history: list[dict[str, Any]] = Field(description="earlier versions, newest first")
    mobility: MobilityOut | None
    pending: dict[str, Any] | None = Field(description="a registrar decision sent and not yet in the ledger")
    learning_agreements: list[dict[str, Any]] = Field([], description="every approved LA version of the mobility, oldest first (the last is current)")
    la_changes: LaChangesOut | None = Field(None, description="what the current LA version changed against the one before it")
    host_grades: dict[str, dict[str, Any]] = Field({}, description="host course code -> the latest host grade the ledger knows for this mobility")


class StudentOut(BaseModel):
    student_esi: str
    mobilities: list[MobilityOut]
    decisions: dict[str, int]


class StudentList(BaseModel):
    total: int
    items: list[StudentOut]


class DecideItemIn(BaseModel):
    omobility_id: str = Field(max_length=200)
    home_component: str = Field(max_length=200)
    decision_id: str | None = Field(None, max_length=200, description="the version you reviewed; a newer one answers 409")


class DecideIn(BaseModel):
    action: Literal["APPROVE", "REJECT"]
    reason: str = Field(min_length=1, max_length=4000)
    items: list[DecideItemIn] = Field(min_length=1, max_length=MAX_BATCH)


class DecideOut(BaseModel):
    published: list[str] = Field(description="decision ids whose RegistrarDecision Kafka acknowledged")
    topic: str


def _row(r: DecisionRow) -> DecisionOut:
    return DecisionOut(decision_id=r.decision_id, omobility_id=r.omobility_id, student_esi=r.student_esi, home_hei=r.home_hei,
                       host_hei=r.host_hei, home_component=r.home_component, home_component_title=r.home_component_title,
                       version=r.version, status=r.status.value, ects=float(r.ects), converted_grade=r.converted_grade, rule=r.rule,
                       reason=r.reason, decided_at=r.decided_at.isoformat())


def _mobility(m: MobilityRow) -> MobilityOut:
    return MobilityOut(omobility_id=m.omobility_id, student_esi=m.student_esi, sending_hei=m.sending_hei, receiving_hei=m.receiving_hei,
                       state=m.state.value, la_version=m.la_version, ects_planned=float(m.ects_planned), ects_recognised=float(m.ects_recognised))


@router.get("/me", response_model=Me)
def me(request: Request) -> Me:
    p = require(request)
    return Me(name=p.name, role=p.role.value, hei=p.hei)


@router.get("/decisions", response_model=DecisionList, responses=_ERRORS)
def decisions(request: Request, status: list[str] = Query([], description="AUTO_RECOGNISED, NEEDS_REVIEW, ... (repeat or comma-separate)"),
              q: str = Query("", max_length=200), host: str = Query("", max_length=64), mobility: str = Query("", max_length=200),
              hei: str = Query("", max_length=64, description="admins: one home institution"),
              limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000)) -> DecisionList:
    p = require(request, Role.REGISTRAR, Role.ADMIN)
    query = DecisionQuery(parse_statuses(status), q.strip(), host or None, mobility or None, limit, offset)
    _, page = inbox(_state(request), p, hei or None, query)
    return DecisionList(total=page.total, counts={s.value: n for s, n in page.counts.items()}, items=[_row(r) for r in page.items])


@router.get("/decisions/{omobility_id}/{component:path}", response_model=DecisionDetailOut, responses=_ERRORS)
def decision(request: Request, omobility_id: str, component: str, hei: str = Query("", max_length=64)) -> DecisionDetailOut:
    p = require(request, Role.REGISTRAR, Role.ADMIN)
    found = detail(_state(request), p, hei or None, omobility_id, component)
    ch = found.changes
    changes = None if ch is None else LaChangesOut(before=ch.before, after=ch.after, groups_changed=ch.groups_changed, components=[
        ComponentChangeOut(table=x.table, change=x.change, course_code=x.course_code, fields=list(x.fields),
                           before=x.before.model_dump(mode="json") if x.before else None, after=x.after.model_dump(mode="json") if x.after else None)
        for x in ch.components])
    return DecisionDetailOut(current=json.loads(to_json(found.current)), history=[json.loads(to_json(h)) for h in found.history],
                             mobility=_mobility(found.mobility) if found.mobility else None, pending=pending_for(_state(request), found),
                             learning_agreements=[la.model_dump(mode="json") for la in found.agreements], la_changes=changes,
                             host_grades={k: g.model_dump(mode="json") for k, g in found.host_grades.items()})


@router.post("/decide", response_model=DecideOut, status_code=202, responses={**_ERRORS, 409: {"description": "not reviewable, or changed"},
                                                                            503: {"description": "Kafka did not take it; nothing recorded"}})
def decide_api(request: Request, body: DecideIn) -> DecideOut:
    """Approve or reject NEEDS_REVIEW / NOT_RECOGNISED items: one RegistrarDecision each on ``registrar.<home hei>.decisions``.

    All or nothing: every item is checked before anything is sent. Browser sessions send ``X-CSRF-Token``."""
    p = require(request)
    check_csrf(p, request.headers.get("x-csrf-token"))
    sent = decide(_state(request), p, [DecideItem(i.omobility_id, i.home_component, i.decision_id) for i in body.items], body.action, body.reason)
    state = _state(request)
    return DecideOut(published=[d.decision_id for d in sent], topic=state.publisher.topic_of(sent[0]) if state.publisher else "")


@router.get("/students", response_model=StudentList, responses=_ERRORS)
def students(request: Request, q: str = Query("", max_length=200), hei: str = Query("", max_length=64),
             limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000)) -> StudentList:
    p = require(request, Role.REGISTRAR, Role.INTERNATIONAL_OFFICE, Role.ADMIN)
    rows, total = _state(request).model.students(home_scope(p, hei or None), q.strip(), limit, offset)
    items = [StudentOut(student_esi=r.student_esi, mobilities=[_mobility(m) for m in r.mobilities], decisions={s.value: n for s, n in r.decisions.items()})
             for r in rows]
    return StudentList(total=total, items=items)


@router.get("/monitor")
async def monitor(request: Request) -> dict[str, Any]:
    """Flows, funnel, ECTS planned vs recognised, deadlines (mobility ids only where your role allows), decision counts."""
    p = require(request)
    data = await run_in_threadpool(monitor_data, _state(request))
    return monitor_view(data, p)


@router.get("/ops")
def ops(request: Request) -> dict[str, Any]:
    """Events per second per topic, consumer lag, dead letters per reason (payload refs for admins)."""
    p = require(request)
    state = _state(request)
    if state.ops is None:
        return {"rates": {}, "totals": {}, "lag": {}, "dead_letters": {}, "recent": [], "error": "no Kafka configured", "sampled_at": 0}
    return state.ops.snapshot().as_json(with_refs=p.role is Role.ADMIN)


@router.get("/dead-letters/{ref}", responses=_ERRORS)
def dead_letter(request: Request, ref: str) -> dict[str, Any]:
    """One dead letter with its original payload (admins only: payloads may hold personal data)."""
    require(request, Role.ADMIN)
    letter = _state(request).ops.letter(ref) if _state(request).ops else None
    if letter is None:
        raise WebError(404, "not found")
    return json.loads(to_json(letter))


@router.get("/export", responses={200: {"content": {"text/csv": {}, "application/json": {}}}, **_ERRORS})
def export(request: Request, format: Literal["csv", "json"] = "csv", hei: str = Query("", max_length=64)) -> Response:
    """The home SIS export of the current decisions, the same as `hub ledger export`."""
    p = require(request, Role.REGISTRAR, Role.ADMIN)
    scope = home_scope(p, hei or None)
    if scope is None:
        raise WebError(422, "admins: name the home institution with ?hei=")
    body = _state(request).model.export(scope, format)
    media = "text/csv" if format == "csv" else "application/json"
    name = f"recognitions-{scope}.{format}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@meta.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    """Liveness and whether the ledger answers."""
    try:
        version = _state(request).model.version()
    except Exception as exc:  # the answer is the health report, so any failure is reported, not raised
        return {"status": "degraded", "ledger": f"unreachable: {type(exc).__name__}"}
    return {"status": "ok", "ledger_version": version}


@meta.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format: requests, decisions per status, mobilities per stage, topic rates, consumer lag, dead letters."""
    from .metrics import render

    return PlainTextResponse(render(_state(request)), media_type="text/plain; version=0.0.4")
