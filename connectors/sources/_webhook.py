"""Webhook push: the SIS POSTs JSON events; each is spooled durably on disk before the answer.

Answers: 202 once the event is fsynced in the spool; 401 without the partner's
bearer token; 413 for a body over ``max_body_bytes``; 400 for a body that is
not JSON (it is spooled too and becomes a dead letter); 503 when the spool holds
``max_spool`` events (Kafka has been away long enough; the SIS should retry).
The run loop drains the spool to Kafka; an accepted event survives a broker
outage and a restart. Cursor: ``{"spool_id": n}``.

Published events are kept in the spool (their cursor saved) so that
``hub connector replay <hei> --from '{"spool_id": n}'`` (or ``beginning``) sends
them again, with the same event ids. The oldest published events are pruned
first, once they are older than ``keep_published_days`` or the published ones
together exceed ``keep_published_bytes``; a replay from a pruned cursor starts at
the oldest event kept (and says so in the log). ``max_spool`` counts unpublished
events only: kept ones never make the webhook answer 503.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from pydantic import SecretStr

from connectors.sdk import (
    BadRecord,
    ConfigError,
    Item,
    NativeRecord,
    Source,
    StopConnector,
)
from connectors.sources._spool import Spool

log = structlog.get_logger()


class WebhookSource(Source):
    """An HTTP endpoint the SIS pushes to::

        WebhookSource("events", s.spool_file, token=s.webhook_token, port=s.port, path="/viko/events",
                      identity_field="eventId")
    """

    kind = "webhook"
    poll_interval = 0.2

    def __init__(
        self,
        name: str,
        spool_file: str | Path,
        *,
        token: SecretStr | str,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/events",
        max_body_bytes: int = 1024 * 1024,
        max_spool: int = 100_000,
        keep_published_bytes: int = 64 * 1024 * 1024,
        keep_published_days: float = 7.0,
        identity_field: str | None = "id",
        poll_interval: float | None = None,
    ) -> None:
        super().__init__(name, poll_interval=poll_interval)
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        problems = []
        if len(secret) < 16:
            problems.append(f"{name}: the webhook token must be at least 16 characters")
        if not path.startswith("/"):
            problems.append(f"{name}: path must start with '/', got {path!r}")
        if max_body_bytes < 1 or max_spool < 1:
            problems.append(f"{name}: max_body_bytes and max_spool must be positive")
        if keep_published_bytes < 0 or keep_published_days < 0:
            problems.append(f"{name}: keep_published_bytes and keep_published_days must be >= 0 (0: keep none)")
        if problems:
            raise ConfigError(problems)
        self._expected = f"Bearer {secret}".encode()
        self.spool_file = Path(spool_file)
        self.host, self.port, self.path = host, port, path
        self.max_body_bytes, self.max_spool = max_body_bytes, max_spool
        self.keep_published_bytes, self.keep_published_days = keep_published_bytes, keep_published_days
        self.identity_field = identity_field
        self.spool: Spool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    def describe(self) -> str:
        return f"webhook {self.name!r} ({self.url or f'{self.host}:{self.port}{self.path}'})"

    # --- server -------------------------------------------------------------------------

    def open(self) -> None:
        self.spool = Spool(self.spool_file, keep_published_bytes=self.keep_published_bytes,
                           keep_published_seconds=self.keep_published_days * 86400)
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._start())
            except BaseException as exc:  # reported to open() below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=serve, name=f"webhook-{self.name}", daemon=True)
        self._thread.start()
        ready.wait(15)
        if failure:
            raise StopConnector(f"{self.describe()}: cannot listen on {self.host}:{self.port}: {failure[0]}")

    async def _start(self) -> None:
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_post(self.path, self._accept)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        self.port = sock.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}{self.path}"

    async def _accept(self, request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), self._expected):
            return web.json_response({"error": "missing or wrong bearer token"}, status=401,
                                     headers={"WWW-Authenticate": "Bearer"})
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            return web.json_response({"error": f"body over {self.max_body_bytes} bytes"}, status=413)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": f"body over {self.max_body_bytes} bytes"}, status=413)
        assert self.spool is not None
        if self.spool.pending() >= self.max_spool:  # published events kept for replay do not count
            return web.json_response({"error": "spool full: the hub cannot reach Kafka; retry later"}, status=503,
                                     headers={"Retry-After": "30"})
        problem = None
        try:
            parsed = json.loads(body)
            if isinstance(parsed, list):
                if not all(isinstance(p, dict) for p in parsed):
                    problem = "a JSON array must hold event objects only"
            elif not isinstance(parsed, dict):
                problem = f"expected a JSON object (or an array of them), got {type(parsed).__name__}"
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problem = f"body is not JSON: {exc}"
        if problem is not None:
            bad: list[tuple[bytes, str | None]] = [(body, problem)]
            await asyncio.get_running_loop().run_in_executor(None, self.spool.append, bad)
            return web.json_response({"error": problem}, status=400)
        items = parsed if isinstance(parsed, list) else [parsed]
        rows: list[tuple[bytes, str | None]] = [(json.dumps(p, ensure_ascii=False, sort_keys=True).encode() if len(items) > 1 else body, None) for p in items]
        ids = await asyncio.get_running_loop().run_in_executor(None, self.spool.append, rows)
        return web.json_response({"accepted": len(ids)}, status=202)

    def close(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None
        if self.spool is not None:
            self.spool.close()

    def check(self) -> str:
        if self.spool is None:
            return f"not listening ({self.describe()})"
        kept, size, _ = self.spool.kept()
        return (f"listening at {self.url}; {self.spool.pending()} event(s) waiting for Kafka, "
                f"{kept} published kept for replay ({size} bytes)")

    # --- draining ---------------------------------------------------------------------------

    def read(self, cursor: Any) -> Iterator[Item]:
        assert self.spool is not None, "open() first"
        last = int(cursor.get("spool_id", 0)) if cursor else 0
        oldest = self.spool.oldest()
        if last + 1 < oldest and last < self.spool.published_through():
            log.warning("replay_pruned", source=self.name, requested_after=last, oldest_kept=oldest,
                        hint="events before it were pruned (keep_published_bytes / keep_published_days)")
        while True:
            rows = self.spool.after(last)
            if not rows:
                return
            for spool_id, received_at, body, problem in rows:
                last = spool_id
                location = f"POST {self.path} #{spool_id} received {received_at}"
                if problem is not None:
                    yield BadRecord(bytes(body), problem, location, {"spool_id": spool_id}, "parse")
                    continue
                data = json.loads(body)
                identity = str(data.get(self.identity_field, "")) if self.identity_field else ""
                yield NativeRecord(data, bytes(body), identity, location, {"spool_id": spool_id})

    def committed(self, cursor: Any) -> None:
        if self.spool is not None and cursor:
            pruned = self.spool.mark_published(int(cursor["spool_id"]))
            if pruned:
                log.debug("spool_pruned", source=self.name, events=pruned)
