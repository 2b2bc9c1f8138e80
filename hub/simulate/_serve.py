"""Each partner's HTTP interfaces over a simulated alliance, on free loopback ports.

One ``ThreadingHTTPServer`` per partner serves that partner's EWP node and, for the four
partners whose SIS speaks HTTP, its SIS API (paths in ``PATHS``).  Files are served as
written: a bad record stays bad on the wire.  Paged JSON is cut from the JSON-lines files by a
line-offset index built on first use, so memory does not grow with the data.
"""

from __future__ import annotations

import json
import threading
from array import array
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from hub.simulate.natives.ewp_xml import GET_ROOT, header, index_document
from hub.simulate.natives.ladok import FEED_PATH, feed_page_path
from hub.simulate.natives.odata import SERVICE
from schemas.institutions import SCHAC_CODES

ODATA_ROOT = f"/sap/opu/odata/sap/{SERVICE}"
PATHS: dict[str, tuple[str, ...]] = {
    "hh.se": (f"{FEED_PATH}/recent", f"{FEED_PATH}/{{n}}", "/resultat/grunddata/betygsskala",
              "/utbildningsinformation/kurstillfalle", "/utbildningsinformation/kurstillfalle/{uid}"),
    "fontys.nl": ("/persons", "/persons/{personId}", "/offerings", "/offerings/{offeringId}", "/associations"),
    "thomasmore.be": tuple(f"{ODATA_ROOT}/{s}" for s in ("Students", "Modules", "Registrations", "Results")),
    "seamk.fi": tuple(f"/peppi/api/v1/{s}" for s in ("students", "course-units", "enrolments", "attainments")),
}
EWP_PATHS = tuple(f"/ewp/{api}/{verb}" for api in ("omobilities", "omobility-las", "imobility-tors") for verb in ("index", "get"))


class SimulationNotFound(FileNotFoundError):
    """The folder is not a simulated alliance; run ``hub simulate`` first."""


class _Lines:
    """Random access to the lines of a JSON-lines file through a lazily built offset index."""

    def __init__(self, path: Path):
        self.path = path
        self._offsets: array | None = None
        self._keys: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def _index(self) -> array:
        with self._lock:
            if self._offsets is None:
                offsets, pos = array("q"), 0
                with self.path.open("rb") as fh:
                    for line in fh:
                        offsets.append(pos)
                        pos += len(line)
                self._offsets = offsets
            return self._offsets

    def __len__(self) -> int:
        return len(self._index())

    def slice(self, start: int, count: int) -> list[bytes]:
        offsets = self._index()
        if start >= len(offsets) or count <= 0:
            return []
        with self.path.open("rb") as fh:
            fh.seek(offsets[start])
            return [fh.readline().rstrip(b"\n") for _ in range(min(count, len(offsets) - start))]

    def find(self, key: str, value: str) -> bytes | None:
        """The last line whose JSON ``key`` is ``value`` (an index built on first use; small files only)."""
        with self._lock:
            if key not in self._keys:
                index: dict[str, int] = {}
                with self.path.open("rb") as fh:
                    pos = 0
                    for line in fh:
                        index[str(json.loads(line)[key])] = pos
                        pos += len(line)
                self._keys[key] = index
        at = self._keys[key].get(value)
        if at is None:
            return None
        with self.path.open("rb") as fh:
            fh.seek(at)
            return fh.readline().rstrip(b"\n")


@dataclass
class RunningServers:
    """The partners' HTTP servers: ``urls[schac]`` is each one's base URL; ``stop()`` ends them all."""

    urls: dict[str, str]
    _servers: list[ThreadingHTTPServer] = field(default_factory=list, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> "RunningServers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_partner_apis(sim_dir: str | Path, host: str = "127.0.0.1") -> RunningServers:
    """Serve every partner's HTTP APIs from a simulated alliance folder on free ports of ``host``."""
    root = Path(sim_dir)
    if not (root / "expected" / "counts.json").exists():
        raise SimulationNotFound(f"{root} is not a simulated alliance (no expected/counts.json): run `hub simulate --out {root}` first")
    running = RunningServers(urls={})
    try:
        for hei in SCHAC_CODES:
            server = ThreadingHTTPServer((host, 0), _handler(root, hei))
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True,
                                      name=f"sim-{hei}")
            thread.start()
            running._servers.append(server)
            running._threads.append(thread)
            running.urls[hei] = f"http://{host}:{server.server_address[1]}"
    except OSError:
        running.stop()
        raise
    return running


def _handler(root: Path, hei: str) -> type[BaseHTTPRequestHandler]:
    folder = root / hei
    lines: dict[str, _Lines] = {}
    ewp_rows = [json.loads(x) for x in (folder / "ewp" / "index.jsonl").read_text(encoding="utf-8").splitlines() if x]

    def jsonl(name: str) -> _Lines:
        if name not in lines:
            lines[name] = _Lines(folder / name)
        return lines[name]

    class Handler(BaseHTTPRequestHandler):
        server_version = f"HeroesSimulator/{hei}"

        def log_message(self, *args: Any) -> None:  # quiet: tests and `hub up` print their own progress
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            self._route(url.path.rstrip("/") or "/", parse_qs(url.query))

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode("utf-8", "replace")) if length else {}
            query = parse_qs(url.query)
            for k, v in form.items():
                query.setdefault(k, []).extend(v)
            self._route(url.path.rstrip("/") or "/", query)

        # -- responses ----------------------------------------------------------
        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, obj: Any, status: int = 200) -> None:
            self._send(status, json.dumps(obj, ensure_ascii=False).encode(), "application/json; charset=utf-8")

        def _raw_json(self, text: bytes) -> None:
            self._send(200, text, "application/json; charset=utf-8")

        def _error(self, status: int, message: str) -> None:
            if self.path.startswith("/ewp/"):
                body = ('<?xml version="1.0" encoding="UTF-8"?>\n<error-response xmlns="https://github.com/erasmus-without-paper/'
                        f'ewp-specs-architecture/blob/stable-v1/common-types.xsd"><developer-message>{message}</developer-message></error-response>\n')
                self._send(status, body.encode(), "application/xml; charset=utf-8")
            else:
                self._json({"status": status, "title": message}, status)

        def _base(self) -> str:
            return f"http://{self.headers.get('Host') or self.server.server_address[0]}"  # type: ignore[index]

        # -- routing -------------------------------------------------------------
        def _route(self, path: str, q: dict[str, list[str]]) -> None:
            try:
                if path.startswith("/ewp/"):
                    return self._ewp(path, q)
                if hei == "hh.se":
                    return self._ladok(path)
                if hei == "fontys.nl":
                    return self._ooapi(path, q)
                if hei == "thomasmore.be" and path.startswith(ODATA_ROOT + "/"):
                    return self._odata(path[len(ODATA_ROOT) + 1:], q)
                if hei == "seamk.fi" and path.startswith("/peppi/api/v1/"):
                    return self._peppi(path[len("/peppi/api/v1/"):], q)
                self._error(404, f"no such path on the simulated {hei}; paths: {', '.join(PATHS.get(hei, ()) + EWP_PATHS)}")
            except ValueError as exc:
                self._error(400, str(exc))

        def _ladok(self, path: str) -> None:
            if path.startswith(FEED_PATH + "/"):
                page = feed_page_path(folder, path[len(FEED_PATH) + 1:])
                if page is None:
                    return self._error(404, f"no feed page {path}")
                return self._send(200, page.read_bytes(), "application/atom+xml;charset=UTF-8")
            if path == "/resultat/grunddata/betygsskala":
                return self._raw_json((folder / "grunddata" / "betygsskala.json").read_bytes())
            if path.startswith("/utbildningsinformation/kurstillfalle"):
                rows = json.loads((folder / "grunddata" / "kurstillfallen.json").read_text(encoding="utf-8"))
                uid = path[len("/utbildningsinformation/kurstillfalle"):].strip("/")
                if not uid:
                    return self._json(rows)
                match = [r for r in rows if r["Uid"] == uid]
                return self._json(match[0]) if match else self._error(404, f"no Kurstillfalle {uid}")
            self._error(404, f"no such Ladok path {path}")

        def _ooapi(self, path: str, q: dict[str, list[str]]) -> None:
            parts = path.strip("/").split("/")
            names = {"persons": "ooapi/persons.jsonl", "offerings": "ooapi/offerings.jsonl", "associations": "ooapi/associations.jsonl"}
            if parts[0] not in names or len(parts) > 2 or (len(parts) == 2 and parts[0] == "associations"):
                return self._error(404, f"no such OOAPI path {path}")
            data = jsonl(names[parts[0]])
            if len(parts) == 2:
                key = {"persons": "personId", "offerings": "offeringId"}[parts[0]]
                found = data.find(key, parts[1])
                return self._raw_json(found) if found else self._error(404, f"no {parts[0][:-1]} {parts[1]}")
            size = _int(q, "pageSize", 100, 1, 250)
            number = _int(q, "pageNumber", 1, 1, 10**9)
            total = len(data)
            items = data.slice((number - 1) * size, size)
            pages = max(1, -(-total // size))
            head = json.dumps({"pageSize": size, "pageNumber": number, "hasPreviousPage": number > 1,
                               "hasNextPage": number < pages, "totalPages": pages})
            self._raw_json(head[:-1].encode() + b',"items":[' + b",".join(items) + b"]}")

        def _odata(self, entity_set: str, q: dict[str, list[str]]) -> None:
            if entity_set not in ("Students", "Modules", "Registrations", "Results"):
                return self._error(404, f"no entity set {entity_set} in {SERVICE}")
            data = jsonl(f"odata/{entity_set}.jsonl")
            top = _int(q, "$top", 200, 1, 1000)
            skip = _int(q, "$skiptoken", _int(q, "$skip", 0, 0, 10**12), 0, 10**12)
            items = data.slice(skip, top)
            body = b'{"d":{' + (f'"__count":"{len(data)}",'.encode() if q.get("$inlinecount") == ["allpages"] else b"")
            body += b'"results":[' + b",".join(items) + b"]"
            if skip + top < len(data):
                nxt = f"{self._base()}{ODATA_ROOT}/{entity_set}?" + urlencode({"$format": "json", "$top": top, "$skiptoken": skip + top})
                body += f',"__next":{json.dumps(nxt)}'.encode()
            self._raw_json(body + b"}}")

        def _peppi(self, name: str, q: dict[str, list[str]]) -> None:
            if name not in ("students", "course-units", "enrolments", "attainments"):
                return self._error(404, f"no Peppi resource {name}")
            data = jsonl(f"peppi/{name}.jsonl")
            size = _int(q, "size", 100, 1, 1000)
            number = _int(q, "page", 0, 0, 10**9)
            total = len(data)
            pages = -(-total // size)
            items = data.slice(number * size, size)
            tail = json.dumps({"number": number, "size": size, "totalElements": total, "totalPages": pages,
                               "first": number == 0, "last": number >= pages - 1})
            self._raw_json(b'{"content":[' + b",".join(items) + b"]," + tail[1:].encode())

        def _ewp(self, path: str, q: dict[str, list[str]]) -> None:
            parts = path.strip("/").split("/")
            if len(parts) != 3 or parts[1] not in GET_ROOT or parts[2] not in ("index", "get"):
                return self._error(404, f"no EWP endpoint {path}; endpoints: {', '.join(EWP_PATHS)}")
            api, verb = parts[1], parts[2]
            own = "receiving_hei_id" if api == "imobility-tors" else "sending_hei_id"
            if q.get(own, [None])[0] != hei:
                return self._error(400, f"{own}={hei} is required: this node serves {hei} only")
            rows = [r for r in ewp_rows if r["api"] == api]
            if verb == "index":
                since = q.get("modified_since", [None])[0]
                if since:
                    moment = _when(since)
                    rows = [r for r in rows if _when(r["modified_at"]) > moment]
                other = "sending_hei_id" if api == "imobility-tors" else "receiving_hei_id"
                if q.get(other):
                    rows = [r for r in rows if r[other.replace("_id", "")] in q[other]]
                body = index_document(api, [r["omobility_id"] for r in rows])
                return self._send(200, body.encode(), "application/xml; charset=utf-8")
            wanted = q.get("omobility_id", [])
            if not wanted:
                return self._error(400, "omobility_id is required (repeat it to ask for several)")
            files = {r["omobility_id"]: r["file"] for r in rows}
            inner = b""
            for oid in wanted:
                if oid in files:  # unknown ids are ignored, as EWP asks; a broken document stays broken
                    text = (root / files[oid]).read_bytes().split(b"\n")
                    inner += b"\n".join(text[2:-2] if text[-1] == b"" else text[2:]) + b"\n"
            body = header(api).encode() + inner + f"</{GET_ROOT[api][0]}>\n".encode()
            self._send(200, body, "application/xml; charset=utf-8")

    return Handler


def _int(q: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    raw = q.get(name, [None])[0]
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is out of range {low}..{high}")
    return value


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"modified_since={text!r} is not an xs:dateTime (e.g. 2026-01-31T12:00:00+01:00)") from None
    if value.tzinfo is None:
        raise ValueError(f"modified_since={text!r} needs a time zone (e.g. 2026-01-31T12:00:00Z)")
    return value
