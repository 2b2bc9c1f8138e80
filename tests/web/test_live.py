"""Live updates over server-sent events, metrics and health, on a real server over a real ledger (no Kafka)."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx

from schemas.models import MobilityState, MobilityStatus, now_utc
from streams.ledger.store import Batch


def _events(site, who: str, stream: str, seconds: float):
    """Read the SSE stream for ``seconds``: yields (event, data, seconds since connecting)."""
    client, _ = site.browser(who)
    started = time.monotonic()
    with client, client.stream("GET", f"/events?stream={stream}", timeout=seconds + 5) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event, data = None, None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and event:
                yield event, data, time.monotonic() - started
                event, data = None, None
            if time.monotonic() - started > seconds:
                return


def test_monitor_stream_pushes_a_ledger_change_within_two_seconds(site):
    stream = _events(site, "alliance1", "monitor", 15)
    event, first, _ = next(stream)
    assert event == "monitor" and "flows" in first["sections"]
    status = MobilityStatus(source_hei="viko.lt", occurred_at=now_utc(), omobility_id="om-live-1", student_esi="urn:x:live",
                            sending_hei="viko.lt", receiving_hei="seamk.fi", state=MobilityState.NOMINATED, ects_planned=Decimal("30"),
                            ects_recognised=Decimal("0"))
    written = time.monotonic()
    site.ledger.write(Batch.of([status], {}), "tests-web-live")
    for event, data, _ in stream:
        if event == "monitor" and data["version"] != first["version"]:
            delay = time.monotonic() - written
            break
    else:
        raise AssertionError("no monitor update after the ledger changed")
    assert delay < 2.0, f"the change reached the page after {delay:.2f} s"
    assert 'data-flow="viko.lt|seamk.fi"' in data["sections"]["flows"]
    assert "urn:x:live" not in json.dumps(data)  # the alliance view carries no student ids


def test_ledger_stream_is_for_inbox_readers_only(site):
    client, _ = site.browser("alliance1")
    with client:
        assert client.get("/events?stream=ledger").status_code == 403
        assert client.get("/events?stream=everything").status_code == 422
    event, data, _ = next(_events(site, "reg-hh", "ledger", 5))
    assert event == "ledger" and data["version"]


def test_metrics_are_prometheus_text(site):
    with site.api("reg-hh") as api:
        api.get("/api/decisions")
        text = httpx.get(f"{site.url}/metrics").text
    assert "# TYPE hub_web_requests_total counter" in text
    assert 'hub_web_requests_total{method="GET",route="/api/decisions",status="200"}' in text
    assert 'hub_decisions{status="NEEDS_REVIEW"}' in text
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            float(value)
            assert name.startswith("hub_")


def test_healthz_reports_the_ledger(site):
    answer = httpx.get(f"{site.url}/healthz").json()
    assert answer["status"] == "ok" and answer["ledger_version"]
