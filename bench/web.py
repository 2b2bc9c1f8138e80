"""Benchmark: the registrar inbox under 20 concurrent registrars, next to a static page of the same server.

    python -m bench.web                       # 2,000 decisions, 20 registrars, 30 requests each
    python -m bench.web --decisions 5000 --registrars 40 --requests 20 --out bench-web.json

It builds a ledger where one home institution (hh.se) has ``--decisions``
current decisions (plus earlier versions, other institutions' decisions, mobility
states and deadline alerts), starts ``hub web`` on it as a separate process on
loopback, signs ``--registrars`` registrars in, and has each of them load the
inbox ``--requests`` times concurrently (httpx async).  The same clients then
load a static page of the same server, the JSON API, and the inbox again while
the ledger changes four times a second (as while events flow: each change adds a
decision to the top of the benchmarked inbox and a status line; the app caches a page per ledger
version, so every change makes the page stale for all registrars at once).  Latencies are
wall-clock per request as the client sees them; the CPU the server and this load generator spent
per request, and ``uptime`` before and after, are reported beside them, since other work on the
machine moves every number.  Target: inbox p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TARGET_P95_MS = 300.0


def build(data_dir: Path, decisions: int, registrars: int) -> dict[str, str]:
    """The ledger and the accounts; returns name -> password."""
    from hub.web import AccountStore
    from hub.web.demo import synthetic_alliance
    from streams.ledger.store import Batch, Ledger

    ledger = Ledger(f"sqlite:///{data_dir / 'ledger.sqlite'}")
    per_mobility = 4
    ledger.write(Batch.of(synthetic_alliance(seed=11, mobilities=decisions // per_mobility, components=per_mobility, home="hh.se"), {}), "bench")
    others = [e for e in synthetic_alliance(seed=12, mobilities=decisions // per_mobility, components=per_mobility)
              if getattr(e, "home_hei", None) != "hh.se" and getattr(e, "sending_hei", None) != "hh.se"]
    ledger.write(Batch.of(others, {}), "bench")
    totals = ledger.totals()
    store = AccountStore(ledger.engine)
    passwords = {}
    for i in range(registrars):
        name = f"bench-registrar-{i:02d}"
        passwords[name] = secrets.token_urlsafe(16)
        store.add(name, "registrar", "hh.se", passwords[name])
    mine = len(ledger.items("hh.se"))
    ledger.close()
    print(f"ledger: {totals['current']} current decisions ({mine} of hh.se), {totals['history']} versions", file=sys.stderr)
    return passwords


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "HUB_DATA_DIR": str(data_dir), "HUB_LOG_LEVEL": "warning"}
    env.pop("HUB_BOOTSTRAP_SERVERS", None)
    proc = subprocess.Popen([sys.executable, "-c", "from hub.cli import main; main()", "web", "--port", "0"],
                            env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        found = re.search(r"serving (http://\S+)", line or "")
        if found:
            return proc, found.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("hub web did not start; run it by hand to see why")


async def sign_in(url: str, name: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=1))
    form = await client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text).group(1)
    answer = await client.post("/login", data={"name": name, "password": password, "login_csrf": token})
    if answer.status_code != 303:
        raise SystemExit(f"sign-in of {name} failed: {answer.status_code}")
    return client


class Answer:
    def __init__(self, status_code: int, text: str) -> None:
        self.status_code, self.text = status_code, text


class RawClient:
    """One signed-in registrar on one keep-alive HTTP/1.1 connection, speaking only what the benchmark sends (GET with
    the session cookie).  httpx spends more CPU per request than the server does (~1.4 ms against ~1.2 ms); on two
    shared cores that load generator's own work shows up in the latencies it measures, this one's (~0.2 ms) hardly."""

    def __init__(self, url: str, cookie: str) -> None:
        self.host, _, port = url.removeprefix("http://").partition(":")
        self.port, self.cookie = int(port), cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> Answer:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nCookie: {self.cookie}\r\n\r\n".encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readuntil(b"\r\n")
            body = b"".join(parts)
        else:
            raise SystemExit(f"GET {path}: an answer without a length ({head[0]})")
        if headers.get("connection", "").lower() == "close":
            await self.aclose()
        return Answer(int(head[0].split(" ", 2)[1]), body.decode("utf-8", errors="replace"))

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def load(clients: list, path: str, requests: int, check: str) -> tuple[list[float], float]:
    """Every client fetches ``path`` ``requests`` times, all clients at once; (latencies in ms, seconds)."""
    latencies: list[float] = []

    async def one(client) -> None:
        for _ in range(requests):
            t0 = time.perf_counter()
            answer = await client.get(path)
            latencies.append((time.perf_counter() - t0) * 1000)
            if answer.status_code != 200 or check not in answer.text:
                raise SystemExit(f"GET {path} answered {answer.status_code}")

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in clients))
    return latencies, time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc), so results can be read apart from machine load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def uptime() -> str:
    """What ``uptime`` prints (load averages over 1, 5 and 15 minutes), for reading a run against the machine's load."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    q = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1), "p99_ms": round(q[98], 1),
            "max_ms": round(max(latencies), 1), "per_second": round(len(latencies) / seconds, 1)}


class Churn:
    """Every ``interval`` seconds writes a new decision of the benchmarked institution and a status line into the
    ledger, as the streams do while events flow, so the inbox's first page really changes."""

    def __init__(self, data_dir: Path, interval: float = 0.25) -> None:
        import threading

        from streams.ledger.store import Ledger

        self.ledger = Ledger(f"sqlite:///{data_dir / 'ledger.sqlite'}")
        self.interval, self.writes = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from decimal import Decimal

        from hub.web.demo import decision_event
        from schemas.models import (
            DecisionStatus,
            MobilityState,
            MobilityStatus,
            now_utc,
        )
        from streams.ledger.store import Batch

        while not self._stop.wait(self.interval):
            self.writes += 1
            mobility, when = f"om-churn-{self.writes}", now_utc()
            line = MobilityStatus(source_hei="hh.se", occurred_at=when, omobility_id=mobility, student_esi="urn:bench",
                                  sending_hei="hh.se", receiving_hei="ucn.dk", state=MobilityState.TOR_ISSUED, ects_planned=Decimal(30),
                                  ects_recognised=Decimal(0))
            decision = decision_event(mobility, "urn:bench", "hh.se", "ucn.dk", "CHURN1", 1, DecisionStatus.NEEDS_REVIEW, when=when)
            self.ledger.write(Batch.of([line, decision], {}), "bench-churn")

    def __enter__(self) -> "Churn":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.ledger.close()


async def run(args: argparse.Namespace, url: str, passwords: dict[str, str], data_dir: Path, pid: int) -> dict:
    clients: list = [await sign_in(url, n, p) for n, p in passwords.items()]
    if args.client == "raw":
        signed_in = clients
        clients = [RawClient(url, f"hub_session={c.cookies['hub_session']}") for c in signed_in]
        for c in signed_in:
            await c.aclose()

    async def measured(path: str, check: str) -> dict:
        cpu, mine = cpu_seconds(pid), cpu_seconds(os.getpid())
        result = summary(*await load(clients, path, args.requests, check))
        result["server_cpu_ms_per_request"] = round((cpu_seconds(pid) - cpu) * 1000 / result["requests"], 2)
        result["client_cpu_ms_per_request"] = round((cpu_seconds(os.getpid()) - mine) * 1000 / result["requests"], 2)
        return result

    try:
        await load(clients, "/inbox", 2, "data-testid=\"inbox\"")  # warm-up: templates compiled, connections open
        await load(clients, "/static/ping.html", 2, "static page")
        inbox = await measured("/inbox", "data-testid=\"inbox\"")
        static = await measured("/static/ping.html", "static page")
        api = await measured("/api/decisions?limit=100", "items")
        with Churn(data_dir) as churn:
            changing = await measured("/inbox", "data-testid=\"inbox\"")
        changing["ledger_writes"] = churn.writes  # each one a new first page
    finally:
        for c in clients:
            await c.aclose()
    return {"inbox": inbox, "inbox_ledger_changing": changing, "static": static, "api_decisions": api}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=2000, help="current decisions of the benchmarked home institution")
    parser.add_argument("--registrars", type=int, default=20, help="concurrent signed-in registrars")
    parser.add_argument("--requests", type=int, default=30, help="inbox loads per registrar")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="load generator: a minimal keep-alive HTTP/1.1 client (default) or httpx, which costs more CPU per request than the server")
    args = parser.parse_args()
    load_at_start, uptime_at_start = os.getloadavg()[0], uptime()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        data_dir = Path(tmp)
        passwords = build(data_dir, args.decisions, args.registrars)
        proc, url = start_server(data_dir)
        try:
            results = asyncio.run(run(args, url, passwords, data_dir, proc.pid))
        finally:
            proc.terminate()
            proc.wait(10)
    report = {"benchmark": "web inbox", "client": args.client, "decisions": args.decisions, "registrars": args.registrars,
              "requests_each": args.requests,
              "cpus": os.cpu_count(), "load_average_at_start": load_at_start, "load_average": os.getloadavg()[0],
              "uptime_at_start": uptime_at_start, "uptime_at_end": uptime(), "python": platform.python_version(), **results,
              "target_p95_ms": TARGET_P95_MS,
              "met": max(results["inbox"]["p95_ms"], results["inbox_ledger_changing"]["p95_ms"]) < TARGET_P95_MS}
    print(f"inbox of a registrar with {args.decisions} decisions (first page, 100 rows), {args.registrars} concurrent registrars"
          f" ({args.client} load generator)")
    print(f"uptime before: {report['uptime_at_start']}\nuptime after:  {report['uptime_at_end']}")
    print(f"{'page':24} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} {'CPU ms/req server':>18} {'client':>7}")
    for name, key in (("inbox", "inbox"), ("inbox, ledger changing", "inbox_ledger_changing"), ("static page", "static"),
                      ("API /api/decisions", "api_decisions")):
        r = results[key]
        print(f"{name:24} {r['requests']:>8} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8} {r['per_second']:>8}"
              f" {r['server_cpu_ms_per_request']:>18} {r['client_cpu_ms_per_request']:>7}")
    print(f"target: inbox p95 < {TARGET_P95_MS:.0f} ms (ledger still and changing): {'met' if report['met'] else 'NOT met'}"
          f" (load average {report['load_average']:.1f} on {report['cpus']} cores)")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
