"""Listening sockets for the hub's own HTTP servers (registry, web app)."""

from __future__ import annotations

import socket


def listen(host: str, port: int | None, default_port: int, error: type[Exception], backlog: int = 128) -> socket.socket:
    """A listening socket: ``port`` 0 = any free port; ``None`` = ``default_port`` when free, else any free port.

    A port that cannot be bound raises ``error`` with a message that says what to do.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in ([default_port, 0] if port is None else [port]):
        # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then,
        # and without it every keep-alive answer waits ~40 ms for a delayed ACK
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
            sock.listen(backlog)
            return sock
        except OSError as exc:
            sock.close()
            if port is None and candidate == default_port:
                continue
            raise error(
                f"cannot listen on {host}:{candidate} ({exc.strerror}); stop what uses it or choose another --port (0 = any free port)"
            ) from exc
    raise AssertionError("unreachable")
