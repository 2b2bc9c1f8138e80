"""A small real HTTP server for source tests: scripted answers on 127.0.0.1, requests recorded."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], bytes]


class ScriptedServer:
    """``routes[path](query) -> (status, headers, body)``; ``fail[path]`` answers first (429, 503, ...)."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, list[str]]], Answer]] = {}
        self.fail: dict[str, deque[Answer]] = {}
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                outer.requests.append((parts.path, query, dict(self.headers)))
                queue = outer.fail.get(parts.path)
                if queue:
                    status, headers, body = queue.popleft()
                elif parts.path in outer.routes:
                    status, headers, body = outer.routes[parts.path](query)
                else:
                    status, headers, body = 404, {}, b"no such path"
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
