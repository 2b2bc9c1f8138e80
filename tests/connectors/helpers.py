"""Running a connector once against the session's broker and registry, and reading what it wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.sdk import Connector, ConnectorRunner, CursorStore, KafkaPublisher, RegistrySerializer, Totals
from tests.connectors.conftest import read_topic


def run_once(conn: Connector, broker: Any, registry: Any, db: Path) -> Totals:
    publisher = KafkaPublisher(broker.bootstrap_servers)
    serializer = RegistrySerializer(registry.url)
    try:
        return ConnectorRunner(conn, publisher, CursorStore(db), serializer=serializer).run(once=True)
    finally:
        publisher.close()
        serializer.close()


def events(broker: Any, registry: Any, topic: str, key_prefix: str) -> list[dict[str, Any]]:
    return [r for k, r in read_topic(broker.bootstrap_servers, topic, registry.url) if k.decode().startswith(key_prefix)]


def dead_letters(broker: Any, registry: Any, source_topic: str) -> list[dict[str, Any]]:
    return [r for _, r in read_topic(broker.bootstrap_servers, "hub.dlq", registry.url) if r["source_topic"] == source_topic]
