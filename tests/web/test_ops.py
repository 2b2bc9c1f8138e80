"""The operations panel on real Kafka: dead letters counted per reason with their payload one click away (admins only),
event counts per topic and consumer lag."""

from __future__ import annotations

import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer

from schemas.models import DeadLetter, now_utc, to_avro
from schemas.registry_client import RegistryClient
from schemas.serde import AvroSerializer

pytestmark = pytest.mark.kafka


def _wait(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    return None


def test_dead_letters_per_reason_with_their_payload(kafka_site, broker, session_registry):
    kind = f"bad-xml-{uuid.uuid4().hex[:6]}"
    payload = b"<grade student='1'><script>alert(1)</script>\xff\xfe"
    letter = DeadLetter(source_hei="mendelu.cz", occurred_at=now_utc(), source_topic="sis.mendelu.cz.grades", source_partition=0, source_offset=7,
                        component="connector:mendelu.cz", error_kind=kind, reason="not well-formed (invalid token): line 1, column 42", payload=payload)
    with RegistryClient(session_registry.url) as registry:
        value = AvroSerializer(registry, "hub.dlq").serialize(to_avro(letter))
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    producer.send("hub.dlq", key=b"sis.mendelu.cz.grades", value=value).get(timeout=30)
    producer.close()

    with kafka_site.api("admin1") as admin, kafka_site.api("reg-hh") as registrar:
        ops = _wait(lambda: (o := admin.get("/api/ops").json())["dead_letters"].get(kind) and o)
        assert ops, "the ops panel did not count the dead letter within 15 s"
        assert ops["dead_letters"][kind] == 1 and ops["totals"]["hub.dlq"] >= 1 and not ops["error"]
        ref = next(r["ref"] for r in ops["recent"] if r["error_kind"] == kind)
        shown = admin.get(f"/api/dead-letters/{ref}").json()
        assert shown["reason"] == letter.reason and shown["source_offset"] == 7
        theirs = registrar.get("/api/ops").json()
        assert theirs["dead_letters"][kind] == 1 and all(r["ref"] is None for r in theirs["recent"])
        assert registrar.get(f"/api/dead-letters/{ref}").status_code == 403

    client, _ = kafka_site.browser("admin1")
    with client:
        page = client.get(f"/dead-letters/{ref}")
        monitor = client.get("/monitor")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert(1)" not in page.text
    assert f'href="/dead-letters/{ref}"' in monitor.text and kind in monitor.text


def test_consumer_lag_is_reported_per_group(kafka_site, broker):
    group = f"web-lag-{uuid.uuid4().hex[:6]}"
    topic = "registrar.viko.lt.decisions"  # a catalogue topic, which the panel watches; nothing else writes it in the tests
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    for _ in range(3):
        producer.send(topic, b"x").get(timeout=30)
    consumer = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap_servers, group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=False)
    consumer.poll(timeout_ms=5000)
    consumer.commit()
    for _ in range(2):
        producer.send(topic, b"y").get(timeout=30)
    producer.close()
    consumer.close()
    with kafka_site.api("alliance1") as api:
        ops = _wait(lambda: (o := api.get("/api/ops").json())["lag"].get(group) == 2 and o, timeout=20)
    assert ops, f"the group's lag of 2 did not appear within 20 s: {api.get('/api/ops').json()['lag'].get(group)}"
