"""A record produced with kafka-python through the serde reads back identically with aiokafka and faust."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from kafka import KafkaProducer

from schemas.canonical import to_json
from schemas.models import Grade, from_avro, to_avro
from schemas.serde import AvroDeserializer, AvroSerializer, DecodeError

pytestmark = [pytest.mark.kafka, pytest.mark.tansu]

REPO = Path(__file__).resolve().parents[2]
TOPIC = "sis.hh.se.grades"


def _grades(n: int) -> list[Grade]:
    return [
        Grade(
            source_hei="hh.se",
            occurred_at=datetime(2025, 1, 15, 9, 30, i % 60, 123000, tzinfo=timezone.utc),
            student_id=f"9f1c2b7e-0000-4000-8000-{i:012d}",
            hei="hh.se",
            result_id=f"res-{i}",
            course_code="DT4001",
            grade_label=["VG", "G", "U", "A", "02"][i % 5],
            grading_scheme_id="hh.se/U-G-VG",
            ects=Decimal("7.5"),
            assessed_on=date(2025, 1, 14),
            status="FINAL",
            academic_year="2024/2025",
        )
        for i in range(n)
    ]


def _produce(bootstrap: str, serializer: AvroSerializer, events: list[Grade], topic: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        futures = [producer.send(topic, key=e.student_id.encode(), value=serializer.serialize(to_avro(e))) for e in events]
        producer.flush()
        for f in futures:
            f.get(timeout=30)
    finally:
        producer.close()


async def _consume(bootstrap: str, topic: str, n: int, deserializer: AvroDeserializer, group: str) -> list[str]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest", session_timeout_ms=10000)
    await consumer.start()
    lines: list[str] = []
    try:
        while len(lines) < n:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), timeout=60)
            for tp, messages in batch.items():
                for m in messages:
                    record = deserializer.deserialize(m.value, m.topic, m.partition, m.offset)
                    lines.append(to_json(from_avro("Grade", record)))
    finally:
        await consumer.stop()
    return lines


def test_kafka_python_to_aiokafka_and_faust(broker, session_registry, session_registry_client, fresh_topic, tmp_path):
    topic = fresh_topic("grades", partitions=3)
    from schemas.avro_files import load_schema

    serializer = AvroSerializer(session_registry_client, topic, schema=load_schema("Grade"))
    events = _grades(25)
    _produce(broker.bootstrap_servers, serializer, events, topic)
    expected = sorted(to_json(e) for e in events)

    got = asyncio.run(_consume(broker.bootstrap_servers, topic, len(events), AvroDeserializer(session_registry_client), f"g-{topic}"))
    assert sorted(got) == expected

    out = tmp_path / "faust.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.backbone.faust_probe", broker.bootstrap_servers, session_registry.url, topic, str(len(events)), str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )
    assert out.exists(), f"faust probe wrote nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
    assert sorted(out.read_text().splitlines()) == expected


def test_bad_bytes_on_a_topic_give_the_named_decode_error(broker, session_registry_client, fresh_topic):
    topic = fresh_topic("poison", partitions=1)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    for value in (b"", b"\x01garbage", b"\x00\x00\x00\x7f\xffxx"):
        producer.send(topic, value=value)
    producer.flush()
    producer.close()

    async def read_all() -> list:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest", group_id=f"g-{topic}")
        await consumer.start()
        out = []
        try:
            while len(out) < 3:
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), timeout=60)
                for messages in batch.values():
                    out.extend(messages)
        finally:
            await consumer.stop()
        return out

    deserializer = AvroDeserializer(session_registry_client)
    for m in asyncio.run(read_all()):
        with pytest.raises(DecodeError) as caught:
            deserializer.deserialize(m.value, m.topic, m.partition, m.offset)
        err = caught.value
        assert (err.topic, err.partition, err.offset) == (topic, 0, m.offset)
        assert topic in str(err)
