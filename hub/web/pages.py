"""Server-rendered pages: sign-in, the registrar inbox, a decision, returning students, the monitor."""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from schemas.institutions import BY_SCHAC, SCHAC_CODES

from .accounts import Role
from .app import WebState
from .readmodel import DecisionQuery
from .security import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    WebError,
    check_csrf,
    home_scope,
    require,
)
from .service import (
    DecideItem,
    cached_inbox,
    decide,
    detail,
    inbox,
    parse_statuses,
    pending_for,
)

router = APIRouter(include_in_schema=False)
PAGE = 100


def _state(request: Request) -> WebState:
    return request.app.state.web


def _render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    context = {"user": getattr(request.state, "principal", None), "institutions": BY_SCHAC, **context}
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)


def _local(target: str | None) -> str:
    # only paths on this site, never //host or scheme:// (no open redirect)
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/")
def home(request: Request) -> Response:
    p = request.state.principal
    if p is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/inbox" if p.role in (Role.REGISTRAR, Role.ADMIN) else "/monitor", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    response = _render(request, "login.html", {"next": _local(next), "login_csrf": token, "error": None})
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_state(request).secure_cookies, max_age=1800)
    return response


@router.post("/login")
def login(request: Request, name: str = Form(..., max_length=64), password: str = Form(..., max_length=1024),
          login_csrf: str = Form("", max_length=100), next: str = Form("/", max_length=500)) -> Response:
    state = _state(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), login_csrf.encode()):
        raise WebError(403, "the sign-in form expired or was not sent by this site: reload it and try again")
    if state.throttle.blocked(name):
        raise WebError(429, "too many failed sign-ins for this account; wait ten minutes")
    account = state.accounts.check_password(name, password)
    if account is None:
        state.throttle.failed(name)
        token = secrets.token_urlsafe(24)
        response = _render(request, "login.html", {"next": _local(next), "login_csrf": token, "error": "Wrong name or password."}, status=401)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=state.secure_cookies, max_age=1800)
        return response
    sid, _ = state.accounts.open_session(account)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax", secure=state.secure_cookies, max_age=8 * 3600)
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("", max_length=100)) -> Response:
    p = require(request)
    check_csrf(p, csrf_token)
    _state(request).accounts.close_session(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/inbox")
async def inbox_page(request: Request, status: list[str] = Query([]), q: str = Query("", max_length=200), host: str = Query("", max_length=64),
                     mobility: str = Query("", max_length=200), hei: str = Query("", max_length=64), page: int = Query(1, ge=1, le=100000),
                     fragment: bool = False, sent: int = Query(0, ge=0)) -> Response:
    p = require(request, Role.REGISTRAR, Role.ADMIN)
    query = DecisionQuery(parse_statuses(status), q.strip(), host or None, mobility or None, PAGE, (page - 1) * PAGE)
    filters = {"status": [s.value for s in query.status], "q": q, "host": host, "mobility": mobility, "hei": hei}
    cached = cached_inbox(_state(request), p, hei or None, query)
    if cached is not None:  # a reload while the ledger is unchanged: answered here, on the event loop
        context = _inbox_context(cached, filters, page, sent)
        table = _table(request, p, cached[1], context, peek=True)
        if table is not None:
            return _inbox_response(request, context, table, fragment)
    return await run_in_threadpool(_inbox_page, request, p, query, filters, page, sent, fragment)


def _inbox_page(request: Request, p, query: DecisionQuery, filters: dict, page: int, sent: int, fragment: bool) -> Response:
    context = _inbox_context(inbox(_state(request), p, filters["hei"] or None, query), filters, page, sent)
    return _inbox_response(request, context, _table(request, p, context["page"], context), fragment)


def _inbox_context(found: tuple, filters: dict, page_no: int, sent: int) -> dict:
    scope, result = found
    base = {k: v for k, v in filters.items() if v}
    return {"page": result, "scope": scope, "filters": filters, "page_no": page_no, "pages": max(1, -(-result.total // PAGE)),
            "qs": lambda **kw: urlencode({**base, **kw}, doseq=True), "sent": sent, "partners": SCHAC_CODES}


def _inbox_response(request: Request, context: dict, table: Markup, fragment: bool) -> Response:
    if fragment:
        return HTMLResponse(table)
    return _render(request, "inbox.html", {**context, "table": table})


def _table(request: Request, p, result, context: dict, peek: bool = False) -> Markup | None:
    """The inbox table, rendered once per cached ledger page, role and filters (it holds nothing else of the user);
    with ``peek``, only if it is rendered already (else None)."""
    extra = {"can_decide": p.role is Role.REGISTRAR, "is_admin": p.role is Role.ADMIN,
             "hei_qs": f"&hei={context['scope']}" if p.role is Role.ADMIN and context["scope"] else "",
             "item_value": lambda r: json.dumps([r.omobility_id, r.home_component, r.decision_id])}

    def render() -> tuple:
        return result, Markup(request.app.state.templates.get_template("_inbox_table.html").render({**context, **extra}))

    # keyed by the page object: the page cache hands the same object to everyone until the ledger changes
    key = (id(result), p.role, context["qs"](), context["page_no"])
    tables = _state(request).tables
    if peek:
        cached = tables.peek(key)
        return cached[1] if cached is not None and cached[0] is result else None
    return tables.get(key, render, valid=lambda cached: cached[0] is result)[1]


@router.post("/inbox/decide")
def inbox_decide(request: Request, csrf_token: str = Form("", max_length=100), action: str = Form(..., max_length=10),
                 reason: str = Form("", max_length=4000), items: list[str] = Form([])) -> Response:
    p = require(request)
    check_csrf(p, csrf_token)
    parsed = []
    for raw in items:
        try:
            omobility_id, component, decision_id = json.loads(raw)
        except (ValueError, TypeError):
            raise WebError(422, "a chosen item is malformed; reload the inbox") from None
        parsed.append(DecideItem(str(omobility_id), str(component), str(decision_id)))
    sent = decide(_state(request), p, parsed, action, reason)
    return RedirectResponse(f"/inbox?sent={len(sent)}", status_code=303)


@router.get("/students")
def students_page(request: Request, q: str = Query("", max_length=200), hei: str = Query("", max_length=64), page: int = Query(1, ge=1, le=100000)) -> Response:
    p = require(request, Role.REGISTRAR, Role.INTERNATIONAL_OFFICE, Role.ADMIN)
    scope = home_scope(p, hei or None)
    rows, total = _state(request).model.students(scope, q.strip(), PAGE, (page - 1) * PAGE)
    return _render(request, "students.html", {"rows": rows, "total": total, "q": q, "scope": scope, "page_no": page})


@router.get("/decisions/{omobility_id}/{component:path}")
def decision_page(request: Request, omobility_id: str, component: str, hei: str = Query("", max_length=64), fragment: bool = False) -> Response:
    p = require(request, Role.REGISTRAR, Role.ADMIN)
    found = detail(_state(request), p, hei or None, omobility_id, component)
    context = {"d": found, "pending": pending_for(_state(request), found), "can_decide": p.role is Role.REGISTRAR}
    return _render(request, "_decision_body.html" if fragment else "decision.html", context)


@router.post("/decisions/{omobility_id}/{component:path}")
def decision_decide(request: Request, omobility_id: str, component: str, csrf_token: str = Form("", max_length=100),
                    action: str = Form(..., max_length=10), reason: str = Form("", max_length=4000), decision_id: str = Form("", max_length=200)) -> Response:
    p = require(request)
    check_csrf(p, csrf_token)
    decide(_state(request), p, [DecideItem(omobility_id, component, decision_id or None)], action, reason)
    return RedirectResponse(request.url.path, status_code=303)


@router.get("/monitor")
def monitor_page(request: Request) -> Response:
    from .live import monitor_sections

    p = require(request)
    sections = monitor_sections(request, p)
    return _render(request, "monitor.html", {"sections": sections})


@router.get("/api/docs")
def api_docs(request: Request) -> Response:
    """The OpenAPI spec as a page: every operation with its parameters, body and answers (the spec is /api/openapi.json)."""
    spec = request.app.openapi()
    operations = [(method.upper(), path, op) for path, item in spec["paths"].items() for method, op in item.items()]
    return _render(request, "api_docs.html", {"spec": spec, "operations": operations})


@router.get("/dead-letters/{ref}")
def dead_letter_page(request: Request, ref: str) -> Response:
    require(request, Role.ADMIN)
    ops = _state(request).ops
    letter = ops.letter(ref) if ops else None
    if letter is None:
        raise WebError(404, "not found (only the latest dead letters are kept for viewing)")
    text = letter.payload.decode("utf-8", errors="replace")
    return _render(request, "dead_letter.html", {"ref": ref, "letter": letter, "text": text, "hex": letter.payload[:4096].hex(" ")})

