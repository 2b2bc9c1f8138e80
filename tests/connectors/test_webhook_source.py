"""Webhook push with a real HTTP client: 202 only after spooling, 401, 413, 503, 400; no loss across outages."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import httpx
import structlog
import pytest
from pydantic import BaseModel, SecretStr

from connectors.sdk import (
    Backoff,
    Connector,
    ConnectorRunner,
    ConnectorSettings,
    CursorStore,
    KafkaPublisher,
    MemoryPublisher,
    RegistrySerializer,
)
from connectors.sources import WebhookSource
from schemas.models import Grade
from tests.connectors.helpers import dead_letters, events

TOKEN = "viko-test-token-0123456789"


class Settings(ConnectorSettings):
    spool_file: Path
    token: SecretStr = SecretStr(TOKEN)
    max_spool: int = 1000
    keep_published_bytes: int = 64 * 1024 * 1024
    keep_published_days: float = 7.0


class AisEvent(BaseModel):
    id: str
    student: str
    module: str
    mark: str
    credits: Decimal
    at: datetime


def grade(e: AisEvent, s: Settings) -> Grade:
    return Grade(source_hei="viko.lt", hei="viko.lt", student_id=e.student, result_id=e.id, course_code=e.module,
                 grade_label=e.mark, grading_scheme_id="viko.lt:1-10", ects=e.credits, assessed_on=e.at.date(),
                 status="FINAL", occurred_at=e.at)


class AisPush(Connector):
    hei = "viko.lt"
    name = "webhook_test"
    settings_class = Settings
    mappings = {"events": grade}

    def sources(self, s: Settings) -> list[WebhookSource]:
        return [WebhookSource("events", s.spool_file, token=s.token, max_body_bytes=2000, max_spool=s.max_spool,
                              keep_published_bytes=s.keep_published_bytes, keep_published_days=s.keep_published_days,
                              poll_interval=0.05)]


def _event(tag: str, i: int) -> dict:
    return {"id": f"{tag}-{i}", "student": f"{tag}-s{i}", "module": "PI-101", "mark": str(5 + i % 6), "credits": "6",
            "at": "2025-06-10T09:00:00+00:00"}


def _auth() -> dict:
    return {"Authorization": f"Bearer {TOKEN}"}


def test_answers_202_after_spooling_and_refuses_what_it_must(tmp_path):
    src = AisPush(spool_file=tmp_path / "spool.sqlite", max_spool=3).sources(AisPush.load_settings(
        spool_file=tmp_path / "spool.sqlite", max_spool=3))[0]
    src.open()
    try:
        with httpx.Client(timeout=10) as http:
            ok = http.post(src.url, json=_event("t", 1), headers=_auth())
            assert ok.status_code == 202
            with sqlite3.connect(tmp_path / "spool.sqlite") as con:  # on disk, seen from another connection
                assert con.execute("SELECT COUNT(*) FROM spool").fetchone()[0] == 1
            assert http.post(src.url, json=_event("t", 2), headers={"Authorization": "Bearer nope"}).status_code == 401
            assert http.post(src.url, json=_event("t", 2)).status_code == 401
            big = http.post(src.url, content=b'{"pad": "' + b"x" * 5000 + b'"}', headers=_auth())
            assert big.status_code == 413
            bad = http.post(src.url, content=b'{"id": "t-3", broken', headers=_auth())
            assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
            assert http.post(src.url, json=_event("t", 4), headers=_auth()).status_code == 202
            full = http.post(src.url, json=_event("t", 5), headers=_auth())
            assert full.status_code == 503 and full.headers["Retry-After"]
    finally:
        src.close()
    kinds = [type(item).__name__ for item in src_items(tmp_path / "spool.sqlite")]
    assert kinds == ["NativeRecord", "BadRecord", "NativeRecord"]


def src_items(spool: Path) -> list:
    src = WebhookSource("events", spool, token=TOKEN)
    src.open()
    try:
        return list(src.read(None))
    finally:
        src.close()


def _start(conn: Connector, db: Path, broker, registry, port: int = 0):
    """Run the connector in a thread; its webhook listens on ``port`` (0: any free one)."""
    publisher = KafkaPublisher(broker.bootstrap_servers, flush_timeout=5)
    runner = ConnectorRunner(conn, publisher, CursorStore(db), serializer=RegistrySerializer(registry.url),
                             backoff=lambda: Backoff(base=0.2, cap=2.0))
    src = conn.sources(conn.settings)[0]
    src.port = port
    thread = threading.Thread(target=runner.run, kwargs={"sources": [src]}, daemon=True)
    thread.start()
    _wait_for(lambda: bool(src.url), 10, "the webhook to listen")
    return runner, src, thread, publisher


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


@pytest.mark.kafka
@pytest.mark.slow
def test_events_accepted_during_a_broker_outage_and_a_restart_all_reach_kafka(apache_kafka, registry, tmp_path):
    broker = apache_kafka
    tag = uuid.uuid4().hex[:8]
    conn = AisPush(spool_file=tmp_path / "spool.sqlite")
    db = tmp_path / "c.sqlite"
    runner, src, thread, publisher = _start(conn, db, broker, registry)
    try:
        with httpx.Client(timeout=10) as http:
            for i in range(3):
                assert http.post(src.url, json=_event(tag, i), headers=_auth()).status_code == 202
            assert http.post(src.url, content=b"<xml/>", headers=_auth()).status_code == 400
            _wait_for(lambda: len(events(broker, registry, "sis.viko.lt.grades", tag)) == 3, 90, "first events (a fresh broker may still be electing leaders)")

            broker.stop()
            for i in range(3, 8):
                assert http.post(src.url, json=_event(tag, i), headers=_auth()).status_code == 202
            broker.restart()
            _wait_for(lambda: {r["result_id"] for r in events(broker, registry, "sis.viko.lt.grades", tag)}
                      == {f"{tag}-{i}" for i in range(8)}, 90, "events accepted during the outage")

            # accepted just before the connector stops: spooled, published after its restart
            for i in range(8, 11):
                assert http.post(src.url, json=_event(tag, i), headers=_auth()).status_code == 202
            runner.stop()
            thread.join(60)
            publisher.close()
    finally:
        runner.stop()
        thread.join(60)
    runner, src, thread, publisher = _start(conn, db, broker, registry, port=src.port)
    try:
        _wait_for(lambda: {r["result_id"] for r in events(broker, registry, "sis.viko.lt.grades", tag)}
                  == {f"{tag}-{i}" for i in range(11)}, 60, "events spooled before the restart")
    finally:
        runner.stop()
        thread.join(60)
        publisher.close()
    published = events(broker, registry, "sis.viko.lt.grades", tag)
    by_result: dict[str, set[str]] = {}
    for r in published:
        by_result.setdefault(r["result_id"], set()).add(str(r["event_id"]))
    assert all(len(ids) == 1 for ids in by_result.values()), "a re-sent event got a new event_id"
    letters = [r for r in dead_letters(broker, registry, "webhook_test.events") if r["payload"] == b"<xml/>"]
    assert letters and "not JSON" in letters[0]["reason"]


def _spooled_ids(spool: Path) -> list[int]:
    with sqlite3.connect(spool) as con:
        return [r[0] for r in con.execute("SELECT id FROM spool ORDER BY id")]


def test_published_events_are_kept_within_their_bounds_and_never_fill_the_spool(tmp_path):
    spool = tmp_path / "spool.sqlite"
    conn = AisPush(spool_file=spool, max_spool=3)
    body_size = len(json.dumps(_event("k", 0)).encode())
    hook = WebhookSource("events", spool, token=TOKEN, max_spool=3, keep_published_bytes=2 * body_size + 10,
                         poll_interval=0.02)
    publisher = MemoryPublisher()
    runner = ConnectorRunner(conn, publisher, CursorStore(tmp_path / "c.sqlite"))
    thread = threading.Thread(target=runner.run, kwargs={"sources": [hook]}, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: bool(hook.url), 10, "the webhook to listen")
        with httpx.Client(timeout=10) as http:
            for i in range(6):  # twice max_spool: published events kept for replay never count as "full"
                assert http.post(hook.url, content=json.dumps(_event("k", i)), headers=_auth()).status_code == 202
                _wait_for(lambda n=i + 1: len(publisher.acked) == n, 10, f"event {i} published")
    finally:
        runner.stop()
        thread.join(30)
    assert _spooled_ids(spool) == [5, 6], "the newest published events within keep_published_bytes stay"

    hook = WebhookSource("events", spool, token=TOKEN, max_spool=3)  # nothing drains it now
    hook.open()
    try:
        with httpx.Client(timeout=10) as http:
            answers = [http.post(hook.url, json=_event("k", i), headers=_auth()).status_code for i in range(6, 10)]
        assert answers == [202, 202, 202, 503], "three unpublished events fill it, the two kept ones do not count"
        assert "3 event(s) waiting for Kafka, 2 published kept for replay" in hook.check()
    finally:
        hook.close()

    with sqlite3.connect(spool) as con:  # the kept ones were received long ago
        con.execute("UPDATE spool SET received_at = '2020-01-01T00:00:00.000+00:00' WHERE id <= 6")
    hook = WebhookSource("events", spool, token=TOKEN, keep_published_days=7, poll_interval=0.02)
    ConnectorRunner(conn, publisher, CursorStore(tmp_path / "c.sqlite")).run(once=True, sources=[hook])
    assert len(publisher.acked) == 9
    assert _spooled_ids(spool) == [7, 8, 9], "published events older than keep_published_days are pruned"


@pytest.mark.kafka
def test_replay_from_a_cursor_resends_kept_events_with_their_event_ids(broker, registry, tmp_path):
    tag = uuid.uuid4().hex[:8]
    conn = AisPush(spool_file=tmp_path / "spool.sqlite")
    db = tmp_path / "c.sqlite"
    runner, src, thread, publisher = _start(conn, db, broker, registry)
    try:
        with httpx.Client(timeout=10) as http:
            for i in range(5):
                assert http.post(src.url, json=_event(tag, i), headers=_auth()).status_code == 202
        _wait_for(lambda: CursorStore(db).load("events") == {"spool_id": 5}, 60, "all five published")
    finally:
        runner.stop()
        thread.join(60)
        publisher.close()
    assert _spooled_ids(tmp_path / "spool.sqlite") == [1, 2, 3, 4, 5], "published events are kept for replay"

    # what `hub connector replay viko_webhook --from '{"spool_id": 2}'` does
    store = CursorStore(db)
    assert ConnectorRunner(conn, MemoryPublisher(), store).replay({"spool_id": 2}) == ["events"]
    publisher = KafkaPublisher(broker.bootstrap_servers, flush_timeout=20)
    serializer = RegistrySerializer(registry.url)
    try:
        totals = ConnectorRunner(conn, publisher, store, serializer=serializer).run(once=True)
    finally:
        publisher.close()
        serializer.close()
    assert totals.published == {"sis.viko.lt.grades": 3}
    ids: dict[str, list[str]] = {}
    for r in events(broker, registry, "sis.viko.lt.grades", tag):
        ids.setdefault(r["result_id"], []).append(str(r["event_id"]))
    assert {k: len(v) for k, v in ids.items()} == {f"{tag}-0": 1, f"{tag}-1": 1, f"{tag}-2": 2, f"{tag}-3": 2,
                                                   f"{tag}-4": 2}
    assert all(len(set(v)) == 1 for v in ids.values()), "a replayed event got a new event_id"


def test_a_replay_from_before_the_oldest_kept_event_starts_there_and_says_so(tmp_path):
    spool = tmp_path / "spool.sqlite"
    hook = WebhookSource("events", spool, token=TOKEN, keep_published_bytes=0)  # keep no published event
    hook.open()
    try:
        with httpx.Client(timeout=10) as http:
            for i in range(4):
                assert http.post(hook.url, json=_event("p", i), headers=_auth()).status_code == 202
        hook.committed({"spool_id": 2})  # events 1 and 2 reached Kafka: pruned at once
        assert _spooled_ids(spool) == [3, 4]
        with structlog.testing.capture_logs() as logs:
            replayed = [item.identity for item in hook.read({"spool_id": 0})]
        assert replayed == ["p-2", "p-3"]
        [warning] = [e for e in logs if e["event"] == "replay_pruned"]
        assert warning["oldest_kept"] == 3 and warning["log_level"] == "warning"
    finally:
        hook.close()
