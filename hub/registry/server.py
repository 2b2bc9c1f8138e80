"""Running the registry: uvicorn in a background thread (``hub up``, tests) or in the foreground (``hub registry``)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import uvicorn

from hub.registry.api import create_app
from hub.listen import listen

DEFAULT_PORT = 8081
DB_FILE = "registry.sqlite"


class RegistryStartError(OSError):
    """The registry could not start (port taken, data folder unusable); the message says what to change."""


@dataclass
class RunningRegistry:
    """A registry serving in a background thread; ``stop()`` (or leaving the ``with`` block) ends it."""

    url: str
    host: str
    port: int
    database: Path
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bind(host: str = "127.0.0.1", port: int | None = 0) -> socket.socket:
    """A listening socket: ``port`` 0 = any free port; ``None`` = 8081 when free, else any free port."""
    return listen(host, port, DEFAULT_PORT, RegistryStartError, backlog=128)


def _server(data_dir: Path | str) -> tuple[uvicorn.Server, Path]:
    folder = Path(data_dir).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RegistryStartError(f"cannot create the registry data folder {folder}: {exc.strerror}; set --data-dir or HUB_DATA_DIR") from exc
    database = (folder / DB_FILE).resolve()
    config = uvicorn.Config(create_app(database), log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    return uvicorn.Server(config), database


def _url(sock: socket.socket) -> tuple[str, int, str]:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return host, port, f"http://{shown}:{port}"


def serve_registry(data_dir: Path | str, host: str = "127.0.0.1", port: int | None = 0) -> RunningRegistry:
    """Start the registry on ``host:port`` keeping its SQLite file in ``data_dir``; returns once it answers."""
    sock = bind(host, port)
    try:
        server, database = _server(data_dir)
    except BaseException:
        sock.close()
        raise
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="schema-registry", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RegistryStartError(f"the schema registry did not start (database {database}); see the log above")
        time.sleep(0.01)
    bound_host, bound_port, url = _url(sock)
    return RunningRegistry(url, bound_host, bound_port, database, server, thread)


def run_registry(data_dir: Path | str, host: str = "127.0.0.1", port: int | None = DEFAULT_PORT, on_ready: object = None) -> None:
    """Serve in the foreground until Ctrl-C; ``on_ready(url)`` is called once the socket listens."""
    sock = bind(host, port)
    server, _ = _server(data_dir)
    if callable(on_ready):
        on_ready(_url(sock)[2])
    server.run(sockets=[sock])
