"""Registrars' approvals and rejections onto ``registrar.<home hei>.decisions``, as Avro in Confluent framing.

One kafka-python producer (``acks=all``) is made on first use, so the web app
starts and serves pages while Kafka is still coming up; ``publish`` returns only
when Kafka has acknowledged every record.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from hub.logs import get_logger
from schemas.avro_files import load_schema
from schemas.catalogue import registrar_topic
from schemas.models import RegistrarDecision, to_avro
from schemas.registry_client import RegistryClient, RegistryError
from schemas.serde import AvroSerializer, SerdeError

__all__ = ["DecisionPublisher", "PublishUnavailable"]

log = get_logger(component="web")
ESI_HEADER = "student_esi"  # the header streams.ledger.registrar writes and the registrar router reads


class PublishUnavailable(RuntimeError):
    """Kafka or the schema registry did not take the decisions; nothing was recorded, the registrar may retry."""


class DecisionPublisher:
    def __init__(self, bootstrap_servers: str, registry_url: str, timeout: float = 15.0, topic_prefix: str = "") -> None:
        self.bootstrap_servers, self.registry_url, self.timeout = bootstrap_servers, registry_url, timeout
        self.topic_prefix = topic_prefix  # the streams' HUB_STREAMS_TOPIC_PREFIX, for parallel deployments on one cluster
        self._lock = threading.Lock()
        self._producer = None
        self._registry: RegistryClient | None = None
        self._serializers: dict[str, AvroSerializer] = {}

    def _connect(self):
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        if self._producer is None:
            try:
                self._producer = KafkaProducer(bootstrap_servers=self.bootstrap_servers.split(","), acks="all", linger_ms=0,
                                               client_id="hub-web", max_block_ms=int(self.timeout * 1000))
            except KafkaError as exc:
                raise PublishUnavailable(f"cannot reach Kafka at {self.bootstrap_servers}: {exc}; is `hub up` running?") from exc
            self._registry = RegistryClient(self.registry_url)
        return self._producer

    def publish(self, decisions: Sequence[RegistrarDecision], esis: Mapping[str, str] | None = None) -> None:
        """Send every decision to its home institution's topic and wait for Kafka's acknowledgement.

        ``esis`` (decision id -> student ESI) go along as the ``student_esi`` header the streams' registrar
        router reads, sparing it a ledger look-up."""
        from kafka.errors import KafkaError

        with self._lock:
            producer = self._connect()
            try:
                futures = []
                for d in decisions:
                    topic = self.topic_of(d)
                    ser = self._serializers.get(topic) or self._serializers.setdefault(topic, self._serializer(topic))
                    esi = (esis or {}).get(d.decision_id)
                    headers = [(ESI_HEADER, esi.encode())] if esi else None
                    futures.append(producer.send(topic, key=d.omobility_id.encode(), value=ser.serialize(to_avro(d)), headers=headers))
                producer.flush(timeout=self.timeout)
                for f in futures:
                    f.get(timeout=self.timeout)
            except (KafkaError, RegistryError, SerdeError) as exc:
                raise PublishUnavailable(f"the decisions were not recorded ({type(exc).__name__}: {exc}); try again in a moment") from exc
        for d in decisions:
            log.info("registrar-decision-published", topic=self.topic_of(d), decision_id=d.decision_id,
                     action=d.action.value, registrar=d.registrar)

    def topic_of(self, decision: RegistrarDecision) -> str:
        return f"{self.topic_prefix}{registrar_topic(decision.home_hei)}"

    def _serializer(self, topic: str) -> AvroSerializer:
        if self.topic_prefix:  # prefixed topics are outside the catalogue: same record, own subject
            return AvroSerializer(self._registry, topic, schema=load_schema("RegistrarDecision"))
        return AvroSerializer(self._registry, topic)

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None
            if self._registry is not None:
                self._registry.close()
                self._registry = None
