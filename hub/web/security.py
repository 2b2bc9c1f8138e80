"""Who is asking and what they may see: sign-in, scope, CSRF, body limits and response headers.

Errors raised here are :class:`WebError` with a status code; the app turns them
into an HTML page for browsers and ``{"detail": ...}`` for the API.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque

from fastapi import Request

from schemas.institutions import BY_SCHAC

from .accounts import AccountStore, Principal, Role

__all__ = [
    "SESSION_COOKIE",
    "LoginThrottle",
    "WebError",
    "BodyLimit",
    "SecurityHeaders",
    "check_csrf",
    "principal_of",
    "require",
    "home_scope",
    "sees_mobility_ids",
]

SESSION_COOKIE = "hub_session"
LOGIN_COOKIE = "hub_login"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")


class WebError(Exception):
    """Answer the request with ``status`` and ``detail``; nothing has been changed."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def principal_of(request: Request, accounts: AccountStore) -> Principal | None:
    """The signed-in account: a bearer token (scripts) or the session cookie (browsers)."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise WebError(401, "use 'Authorization: Bearer <token>' (make one with `hub web token NAME`)")
        found = accounts.token(token.strip())
        if found is None:
            raise WebError(401, "unknown or revoked API token")
        return found
    sid = request.cookies.get(SESSION_COOKIE)
    return accounts.session(sid) if sid else None


def require(request: Request, *roles: Role) -> Principal:
    """The principal when their role is one of ``roles`` (any role when none given); 401 or 403 otherwise."""
    p: Principal | None = request.state.principal
    if p is None:
        raise WebError(401, "sign in first")
    if roles and p.role not in roles:
        raise WebError(403, f"the {p.role.value} role cannot use this")
    return p


def home_scope(p: Principal, asked: str | None) -> str | None:
    """The home institution whose students ``p`` may see: their own; admins any (``None`` = all).

    Asking for another institution than one's own answers 404, like an unknown id.
    """
    if asked and asked not in BY_SCHAC:
        raise WebError(404, "not found")
    if p.role is Role.ADMIN:
        return asked or None
    if asked and asked != p.hei:
        raise WebError(404, "not found")
    return p.hei


def sees_mobility_ids(p: Principal, sending: str, receiving: str) -> bool:
    """Whether a deadline line may name its mobility: admins, and staff of either partner; never the alliance view."""
    return p.role is Role.ADMIN or (p.role in (Role.REGISTRAR, Role.INTERNATIONAL_OFFICE) and p.hei in (sending, receiving))


def check_csrf(p: Principal, sent: str | None) -> None:
    """Session requests that change something must carry the session's CSRF token; bearer requests need none."""
    if p.via != "session":
        return
    if not sent or not hmac.compare_digest(sent.encode(), p.csrf.encode()):
        raise WebError(403, "the form's security token is missing or wrong: reload the page and try again")


class LoginThrottle:
    """At most ``limit`` failed sign-ins per account name in ``window`` seconds."""

    def __init__(self, limit: int = 10, window: float = 600.0) -> None:
        self.limit, self.window = limit, window
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, name: str) -> bool:
        with self._lock:
            q = self._fails.get(name.casefold())
            now = time.monotonic()
            while q and now - q[0] > self.window:
                q.popleft()
            return bool(q) and len(q) >= self.limit

    def failed(self, name: str) -> None:
        with self._lock:
            self._fails.setdefault(name.casefold(), deque()).append(time.monotonic())


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is refused with 413 before any handler reads it."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _too_large(send, self.limit)
        # read the whole (small) body first, so an oversized one is refused before any handler runs
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.limit:
                return await _too_large(send, self.limit)
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send, limit: int) -> None:
    body = f'{{"detail":"request body larger than {limit} bytes"}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """ASGI middleware: CSP without inline scripts, no framing, no sniffing, no caching of signed-in pages."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/")

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin")]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
