"""Poison events, a killed worker and a restarted broker: the stream goes on and the ledger stays exact."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from bench.alliance import alliance, expected_decisions
from schemas.catalogue import registrar_topic, sis_topic

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _send_raw(cfg, items) -> None:
    """Publish raw (topic, key, value) records, bypassing the serde, as a broken producer would."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    async def go() -> None:
        p = AIOKafkaProducer(bootstrap_servers=cfg.bootstrap_servers)
        await p.start()
        try:
            for topic, key, value in items:
                await p.send_and_wait(topic, value, key=key)
        finally:
            await p.stop()

    asyncio.run(go())


def test_a_poison_event_in_each_input_topic_is_dead_lettered_and_the_stream_goes_on(pipeline):
    from bench.alliance import _graded_scheme  # noqa: F401 - the alliance's own helpers build the events below
    from schemas.models import Grade

    p = pipeline(workers=1)
    cfg = p.cfg
    inputs = [cfg.topic(sis_topic("hh.se", k)) for k in ("enrolments", "grades", "mobilities")] + [cfg.topic(registrar_topic("hh.se"))]
    _send_raw(cfg, [(t, b"s1", b"\x00\x00\x00\x00\x01not avro at all") for t in inputs] + [(inputs[0], b"s2", b"{\"json\": true}")])
    events = alliance(20, seed=21)
    bad_label = next(e for e in events if isinstance(e, Grade)).model_copy(update={"event_id": str(uuid.uuid4()), "grade_label": "excellent"})
    p.publish([bad_label] + events)
    expected = expected_decisions(events)
    rows = p.wait_for(expected)
    assert rows == expected  # everything good still went through
    letters = p.dead_letters()
    by_topic = {(d.source_topic, d.error_kind) for d in letters}
    for t in inputs:
        assert (t, "undecodable") in by_topic, f"no dead letter for the poison event on {t}: {by_topic}"
    poison = next(d for d in letters if d.source_topic == inputs[0] and d.payload.startswith(b"\x00"))
    assert poison.payload == b"\x00\x00\x00\x00\x01not avro at all" and poison.source_offset is not None
    assert poison.component == "streams:normalise" and "Confluent" in poison.reason
    label = next(d for d in letters if d.error_kind == "unknown-grade")
    assert "'excellent'" in label.reason and "valid labels" in label.reason


@pytest.mark.parametrize("child", ["w1", "n1", "r1"])
def test_a_worker_or_stage_killed_mid_stream_rebuilds_its_state_and_the_ledger_stays_exact(pipeline, apache_kafka, child):
    """w1 (recognising in faust) rebuilds its faust tables from their changelogs; n1 rebuilds who is who (local id -> ESI)
    and the event ids it saw, r1 the students' recognition states and the open deadlines, from their state topics."""
    p = pipeline(workers=1, recognise="faust" if child == "w1" else "stage")
    events = alliance(150, seed=31)
    expected = expected_decisions(events)
    half = len(events) // 2
    p.publish(events[:half])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(p.current()) < 50:
        time.sleep(0.5)
    assert p.current(), "nothing reached the ledger before the kill"
    p.supervisor.kill(child)  # SIGKILL: no shutdown, no final commit; the supervisor starts it again
    p.publish(events[half:] + events[: half // 2])  # the rest, and part of the first half again (duplicates to drop)
    rows = p.wait_for(expected, timeout=180)
    assert rows == expected
    assert any(r.startswith(f"{child} (exit -9)") for r in p.supervisor.restarts), p.supervisor.restarts
    assert p.ledger.totals()["ects_recognised"] == sum(e for s, e in expected.values() if s == "AUTO_RECOGNISED")
    if child != "w1":
        role = {"n1": "normalise", "r1": "recognise"}[child]
        log = (p.cfg.data_dir / "logs" / f"{role}-{p.cfg.app_id}-{child}.log").read_text()
        restored = [int(m.group(1)) for line in log.splitlines() if f"{role}-restored" in line
                    for m in [re.search(r"\bkeys\W{1,3}(\d+)", line)] if m]  # JSON lines or key=value lines
        assert len(restored) >= 2 and restored[-1] > 0, log[-2000:]  # the restart read back what the first run wrote


def test_the_ledger_writer_killed_mid_stream_resumes_at_its_stored_offsets(pipeline):
    p = pipeline(workers=1)
    events = alliance(80, seed=41)
    expected = expected_decisions(events)
    p.publish(events)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not p.current():
        time.sleep(0.2)
    p.supervisor.kill("ledger")  # the supervisor restarts it; it resumes at the offsets stored with its rows
    assert p.wait_for(expected) == expected
    hist = p.ledger.totals()["history"]
    assert hist == len({(h["decision_id"], h["version"]) for m in {k[0] for k in expected} for h in p.ledger.history(m)})


def test_the_broker_stopped_and_restarted_mid_stream_leaves_the_ledger_exact(registry_url, tmp_path):
    """On a broker of its own (Apache Kafka, persistent log): the workers ride out the outage or are restarted."""
    from hub.broker import EngineUnavailable, start_broker
    from streams.config import StreamsConfig
    from tests.conftest import require_service
    from tests.streams.conftest import Pipeline

    try:
        broker = start_broker("kafka", tmp_path / "broker", port=0)
    except EngineUnavailable as exc:
        require_service("Apache Kafka (Java >= 17 and its jars)", str(exc))
    p = None
    try:
        cfg = StreamsConfig(bootstrap_servers=broker.bootstrap_servers, registry_url=registry_url, data_dir=tmp_path / "run",
                            app_id="restart", ledger_url=f"sqlite:///{tmp_path}/ledger.sqlite", session_timeout=6.0)
        p = Pipeline(cfg, 1).start()
        events = alliance(100, seed=51)
        expected = expected_decisions(events)
        half = len(events) // 2
        p.publish(events[:half])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not p.current():
            time.sleep(0.5)
        assert p.current(), "nothing reached the ledger before the broker restart"
        broker.restart()
        p.publish(events[half:])
        rows = p.wait_for(expected, timeout=240)
        assert rows == expected
    finally:
        if p is not None:
            p.stop()
        broker.stop()
