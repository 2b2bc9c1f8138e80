"""Live updates: server-sent events that push the monitor's sections and tell open pages the ledger changed.

One stream per open page.  It looks at the ledger's change token every
``WebState.live_interval`` seconds (0.4 s by default, so a change shows within
well under 2 s); the monitor's numbers are computed once per ledger version and
shared by every open monitor, then shaped per user (mobility ids only where
their role allows).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from .accounts import Principal, Role
from .app import WebState
from .charts import ects_bars, flow_matrix, funnel_bars
from .readmodel import MonitorData
from .security import require
from .service import monitor_view

__all__ = ["fresh_version", "ledger_version", "monitor_data", "monitor_sections", "ops_section", "router"]

router = APIRouter(include_in_schema=False)
_cache_lock = threading.Lock()
HEARTBEAT = 15.0


def ledger_version(state: WebState) -> str:
    """The ledger's change token, looked up at most once per half interval whoever asks: while one request
    looks it up, the others take the previous token (it is at most one interval old either way)."""
    with _cache_lock:
        cached = getattr(state, "_version_cache", None)
        fresh = cached is not None and time.monotonic() - cached[1] < state.live_interval / 2
        if fresh or (cached is not None and getattr(state, "_version_lookup", False)):
            return cached[0]
        state._version_lookup = True  # type: ignore[attr-defined]
    try:
        value = state.model.version()
        with _cache_lock:
            state._version_cache = (value, time.monotonic())  # type: ignore[attr-defined]
        return value
    finally:
        state._version_lookup = False  # type: ignore[attr-defined]


def fresh_version(state: WebState) -> str | None:
    """The change token when one was looked up less than half an interval ago, without touching the database."""
    cached = getattr(state, "_version_cache", None)
    return cached[0] if cached is not None and time.monotonic() - cached[1] < state.live_interval / 2 else None


def monitor_data(state: WebState) -> MonitorData:
    return state.monitors.get(ledger_version(state), state.model.monitor)


def _macros(request: Request):
    return request.app.state.templates.env.get_template("_monitor.html").module


def monitor_sections(request: Request, p: Principal) -> dict[str, Markup]:
    state: WebState = request.app.state.web
    data = monitor_data(state)
    view = monitor_view(data, p)
    m = _macros(request)
    return {
        "flows": flow_matrix(data),
        "funnel": funnel_bars(data),
        "ects": ects_bars(data),
        "deadlines": m.deadlines(view["deadlines"], view["as_of"]),
        "decisions": m.decisions(view["decisions"], data.cancelled),
        "ops": ops_section(request, p),
    }


def ops_section(request: Request, p: Principal) -> Markup:
    ops = request.app.state.web.ops
    snap = ops.snapshot() if ops else None
    return _macros(request).ops(snap, p.role is Role.ADMIN)


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@router.get("/events")
async def events(request: Request, stream: str = Query("monitor", pattern="^(monitor|ledger)$")) -> StreamingResponse:
    """``monitor``: the monitor's sections as HTML on every ledger change, the ops panel every second.
    ``ledger``: the ledger's version on every change (inbox and decision pages re-fetch their part)."""
    p = require(request) if stream == "monitor" else require(request, Role.REGISTRAR, Role.ADMIN)
    state: WebState = request.app.state.web

    async def gen():
        last_version, last_ops, last_beat = None, 0.0, time.monotonic()
        yield b"retry: 1000\n\n"
        while not state.stopping and not await request.is_disconnected():
            version = await run_in_threadpool(ledger_version, state)
            now = time.monotonic()
            if version != last_version:
                if stream == "monitor":
                    sections = await run_in_threadpool(monitor_sections, request, p)
                    yield _sse("monitor", {"version": version, "sections": {k: str(v) for k, v in sections.items()}})
                    last_ops = now
                else:
                    yield _sse("ledger", {"version": version, "first": last_version is None})
                last_version, last_beat = version, now
            elif stream == "monitor" and now - last_ops >= 1.0:
                yield _sse("ops", {"html": str(ops_section(request, p))})
                last_ops = last_beat = now
            elif now - last_beat >= HEARTBEAT:
                yield b": ping\n\n"
                last_beat = now
            await asyncio.sleep(state.live_interval)

    return StreamingResponse(gen(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})
