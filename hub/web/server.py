"""Running the web app: uvicorn in a background thread (``hub up``, tests, benchmark) or in the foreground (``hub web``)."""

from __future__ import annotations

import gc
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import uvicorn

from .accounts import AccountStore
from .app import WebState, create_app
from .ops import OpsSampler
from .publish import DecisionPublisher
from .readmodel import ReadModel
from hub.listen import listen

__all__ = ["RunningWeb", "WebStartError", "bind", "build_state", "open_engine", "serve_web", "run_web"]

DEFAULT_PORT = 8080


class WebStartError(RuntimeError):
    """The web app could not start (port taken, database unusable); the message says what to change."""


@dataclass
class RunningWeb:
    url: str
    state: WebState
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        self.state.stopping = True
        self._server.should_exit = True
        self._thread.join(timeout)
        for closable in (self.state.ops, self.state.publisher):
            if closable is not None:
                (closable.stop if isinstance(closable, OpsSampler) else closable.close)()

    def __enter__(self) -> RunningWeb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def open_engine(database_url: str) -> sa.Engine:
    """The SQLAlchemy engine of the ledger database, which also keeps the web accounts."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return sa.create_engine(database_url, connect_args={"check_same_thread": False, "timeout": 30})
    return sa.create_engine(database_url, pool_pre_ping=True)


def build_state(engine: sa.Engine, model: ReadModel, *, bootstrap_servers: str | None = None, registry_url: str | None = None,
                secure_cookies: bool = False, sample_ops: bool = True, topic_prefix: str = "") -> WebState:
    """Accounts over ``engine``; a Kafka publisher and the ops sampler when Kafka is given."""
    publisher = DecisionPublisher(bootstrap_servers, registry_url, topic_prefix=topic_prefix) if bootstrap_servers and registry_url else None
    ops = OpsSampler(bootstrap_servers, registry_url).start() if bootstrap_servers and sample_ops else None
    return WebState(AccountStore(engine), model, publisher=publisher, ops=ops, secure_cookies=secure_cookies)


def bind(host: str = "127.0.0.1", port: int | None = 0) -> socket.socket:
    """A listening socket: ``port`` 0 = any free port; ``None`` = 8080 when free, else any free port."""
    return listen(host, port, DEFAULT_PORT, WebStartError, backlog=512)


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _server(state: WebState) -> uvicorn.Server:
    config = uvicorn.Config(create_app(state), log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


def serve_web(state: WebState, host: str = "127.0.0.1", port: int | None = 0) -> RunningWeb:
    """Serve in a background thread; returns once the socket answers."""
    sock = bind(host, port)
    server = _server(state)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="hub-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise WebStartError("the web app did not start; see the log above")
        time.sleep(0.01)
    return RunningWeb(_url(sock), state, server, thread)


def run_web(state: WebState, host: str = "127.0.0.1", port: int | None = DEFAULT_PORT, on_ready: object = None) -> None:
    """Serve in the foreground until Ctrl-C; ``on_ready(url)`` is called once the socket listens."""
    sock = bind(host, port)
    server = _server(state)
    # in its own process, what exists by now (modules, the app, SQLAlchemy's and Jinja's compiled forms) lives as
    # long as the process: out of the collector's sight, a full collection under load costs ~3 ms of CPU instead
    # of ~50 ms, a pause for every request in flight
    gc.collect()
    gc.freeze()
    if callable(on_ready):
        on_ready(_url(sock))
    try:
        server.run(sockets=[sock])
    finally:
        state.stopping = True
        if state.ops is not None:
            state.ops.stop()
        if state.publisher is not None:
            state.publisher.close()
