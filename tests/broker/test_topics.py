"""Catalogue topics on the session broker: all there, right partitions, compaction where declared."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from hub.broker import ensure_topics
from schemas.catalogue import TOPICS


@pytest.fixture
def admin(broker):
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    yield client
    client.close()


@pytest.mark.tansu
def test_every_catalogue_topic_exists_with_six_partitions(broker, admin):
    described = {t["name"]: t for t in admin.describe_topics([t.name for t in TOPICS])}
    assert sorted(described) == sorted(t.name for t in TOPICS)
    assert {name: len(t["partitions"]) for name, t in described.items()} == {t.name: 6 for t in TOPICS}


@pytest.mark.tansu
def test_ensure_topics_twice_creates_nothing_the_second_time(broker):
    assert ensure_topics(broker.bootstrap_servers, engine=broker.engine) == []


def test_compacted_topics_get_cleanup_policy_compact(apache_kafka, admin):
    resources = [ConfigResource(ConfigResourceType.TOPIC, t.name, configs={"cleanup.policy": None}) for t in TOPICS]
    described = admin.describe_configs(resources, config_filter="all")["topic"]
    policies = {name: configs["cleanup.policy"]["value"] for name, configs in described.items()}
    assert policies == {t.name: "compact" if t.compacted else "delete" for t in TOPICS}
    assert any(t.compacted for t in TOPICS)


@pytest.mark.tansu
def test_produce_consume_round_trip_keeps_per_key_order(broker, fresh_topic):
    topic = fresh_topic("roundtrip", partitions=3)

    async def scenario() -> list[tuple[bytes, bytes]]:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        await producer.start()
        try:
            for i in range(30):
                await producer.send(topic, key=f"student-{i % 4}".encode(), value=f"grade-{i}".encode())
            await producer.flush()
        finally:
            await producer.stop()
        options = {"auto_offset_reset": "earliest", **{k: v for k, v in broker.client_hints.items() if k != "enable_idempotence"}}
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap_servers, group_id=f"{topic}-g", **options)
        await consumer.start()
        seen: list[tuple[bytes, bytes]] = []
        try:
            while len(seen) < 30:
                batches = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 30)
                seen += [(r.key, r.value) for records in batches.values() for r in records]
        finally:
            await consumer.stop()
        return seen

    seen = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert sorted(v for _, v in seen) == sorted(f"grade-{i}".encode() for i in range(30))
    by_key: dict[bytes, list[int]] = {}
    for key, value in seen:
        by_key.setdefault(key, []).append(int(value.split(b"-")[1]))
    assert all(values == sorted(values) for values in by_key.values())  # per-key order survives
