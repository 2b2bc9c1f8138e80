"""The FastAPI app: pages for registrars and the monitor, the JSON API behind them, metrics and health."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.models import DecisionStatus

from .accounts import AccountStore
from .cache import OnceCache
from .filters import FILTERS
from .ops import OpsSampler
from .publish import DecisionPublisher, PublishUnavailable
from .readmodel import ReadModel
from .security import BodyLimit, LoginThrottle, SecurityHeaders, WebError, principal_of

__all__ = ["WebState", "create_app"]

HERE = Path(__file__).parent
MAX_BODY = 64 * 1024


@dataclass
class WebState:
    """Everything the routes use; built by :func:`hub.web.server.build_state` or by tests."""

    accounts: AccountStore
    model: ReadModel
    publisher: DecisionPublisher | None = None
    ops: OpsSampler | None = None
    secure_cookies: bool = False
    max_body: int = MAX_BODY
    live_interval: float = 0.4  # how often live pages look for ledger changes (seconds)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    pending: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # sent, not yet in the ledger
    requests: Counter = field(default_factory=Counter)  # (method, route, status) -> count
    latency: Counter = field(default_factory=Counter)  # route -> seconds
    pages: OnceCache = field(default_factory=lambda: OnceCache(512))  # (ledger version, scope, query) -> inbox page
    tables: OnceCache = field(default_factory=lambda: OnceCache(1024))  # (page, role, filters) -> the inbox table's HTML
    monitors: OnceCache = field(default_factory=lambda: OnceCache(4))  # ledger version -> monitor aggregates
    stopping: bool = False


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.headers.get("accept", "").startswith("application/json")


def create_app(state: WebState) -> FastAPI:
    from . import api, live, pages

    app = FastAPI(
        title="HEROES Hub registrar API",
        version="1",
        description="Registrar inbox, decisions and mobility monitor of the HEROES Hub. Sign in with a session (browser) "
                    "or `Authorization: Bearer <token>` (`hub web token NAME`). Registrars see only their home "
                    "institution's students; other ids answer 404.",
        docs_url=None,  # /api/docs is our own page (pages.api_docs): Swagger UI would load scripts from a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.web = state
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["static_version"] = str(int(time.time()))
    templates.env.globals["statuses"] = list(DecisionStatus)
    templates.env.filters.update(FILTERS)
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError):
        return _error(request, exc.status, exc.detail)

    @app.exception_handler(PublishUnavailable)
    async def unavailable(request: Request, exc: PublishUnavailable):
        return _error(request, 503, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
        return _error(request, 422, f"invalid request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(request, exc.status_code, str(exc.detail))

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(api.meta)
    app.include_router(live.router)
    return _wrap(app, state)


def _wrap(app: FastAPI, state: WebState) -> FastAPI:
    # the last added runs first: headers on everything, then the body limit, then who is asking
    app.add_middleware(_Asgi, inner=lambda a: Who(a, state))
    app.add_middleware(_Asgi, inner=lambda a: BodyLimit(a, state.max_body))
    app.add_middleware(_Asgi, inner=SecurityHeaders)
    return app


class _Asgi:
    """Adapts a plain ASGI middleware factory to ``app.add_middleware``."""

    def __init__(self, app, inner) -> None:
        self._app = inner(app)

    async def __call__(self, scope, receive, send):
        await self._app(scope, receive, send)


class Who:
    """ASGI middleware: resolves the principal once per request (``request.state.principal``) and counts answers."""

    def __init__(self, app, state: WebState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        try:
            principal = principal_of(Request(scope), self.state.accounts)
        except WebError as exc:
            response = JSONResponse({"detail": exc.detail}, status_code=exc.status, headers={"WWW-Authenticate": "Bearer"})
            return await response(scope, receive, send)
        scope.setdefault("state", {})["principal"] = principal
        status = 500

        async def observed(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.state.requests[(scope["method"], route, status)] += 1
            self.state.latency[route] += time.perf_counter() - started


def _error(request: Request, status: int, detail: str) -> Response:
    if status == 401 and not _is_api(request):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if _is_api(request) or request.url.path in ("/metrics", "/healthz"):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html", {"status": status, "detail": detail, "user": getattr(request.state, "principal", None)},
                                      status_code=status, headers=headers)
