"""Shared parts for connector tests: the session's schema registry and reading a topic back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from hub.registry import serve_registry

    running = serve_registry(tmp_path_factory.mktemp("registry"), port=0)
    try:
        yield running
    finally:
        running.stop()


def read_topic(bootstrap_servers: str, topic: str, registry_url: str, timeout: float = 20.0) -> list[tuple[bytes, dict[str, Any]]]:
    """Every record of ``topic`` from the beginning to its current end, decoded: ``[(key, record)]``."""
    from kafka import KafkaConsumer, TopicPartition

    from schemas.registry_client import RegistryClient
    from schemas.serde import AvroDeserializer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers.split(","), enable_auto_commit=False,
                             group_id=None, request_timeout_ms=30_000)
    try:
        parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        out: list[tuple[bytes, dict[str, Any]]] = []
        deser = AvroDeserializer(RegistryClient(registry_url))
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in parts):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end within {timeout}s")
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    out.append((r.key, deser.deserialize(r.value, topic, r.partition, r.offset)))
        return out
    finally:
        consumer.close()
