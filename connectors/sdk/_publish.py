"""Publishing: a small seam (``Publisher``) with the real Kafka implementation and an in-memory one.

``flush()`` returns only when every record sent since the last flush is
acknowledged by Kafka (``acks=all``); if any failed it raises ``PublishFailed``
and the caller keeps its cursor where it was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from connectors.sdk._errors import PublishFailed
from connectors.sdk._avro import avro_writer
from schemas.catalogue import BY_NAME

log = structlog.get_logger()

Serializer = Callable[[str, dict[str, Any]], bytes]
"""``serialize(topic, avro_dict) -> bytes``: the Avro serde with Confluent framing, one per topic subject."""


class Publisher(Protocol):
    def send(self, topic: str, key: bytes | None, value: bytes) -> None: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self) -> None: ...


class KafkaPublisher:
    """kafka-python producer: ``acks=all``, idempotent where the broker supports it, batched."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "hub-connector",
        linger_ms: int = 20,
        batch_size: int = 256 * 1024,
        delivery_timeout_ms: int = 120_000,
        flush_timeout: float = 60.0,
        idempotent: bool = True,
        **extra: Any,
    ) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        self.bootstrap_servers = bootstrap_servers
        self.flush_timeout = flush_timeout
        config: dict[str, Any] = dict(
            bootstrap_servers=bootstrap_servers.split(","),
            client_id=client_id,
            acks="all",
            enable_idempotence=idempotent,
            linger_ms=linger_ms,
            batch_size=batch_size,
            max_request_size=8 * 1024 * 1024,
            delivery_timeout_ms=delivery_timeout_ms,
            request_timeout_ms=min(30_000, delivery_timeout_ms - linger_ms - 1),
            max_block_ms=30_000,
            **extra,
        )
        try:
            self._producer = KafkaProducer(**config)
        except KafkaError as exc:
            if idempotent and "dempoten" in str(exc):
                log.warning("idempotence_unsupported", bootstrap_servers=bootstrap_servers, error=str(exc))
                config["enable_idempotence"] = False
                self._producer = KafkaProducer(**config)
            else:
                raise PublishFailed(
                    f"cannot reach Kafka at {bootstrap_servers}: {exc}. Start one with `hub broker` "
                    "or set HUB_BOOTSTRAP_SERVERS"
                ) from exc
        self._futures: list[Any] = []
        self._lock = threading.Lock()

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        from kafka.errors import KafkaError

        try:
            future = self._producer.send(topic, key=key, value=value)
        except KafkaError as exc:
            raise PublishFailed(f"Kafka refused a record for {topic}: {exc} (does the topic exist? "
                                "`hub topics --create` makes every catalogue topic)") from exc
        with self._lock:
            self._futures.append(future)

    def flush(self, timeout: float | None = None) -> None:
        from kafka.errors import KafkaError

        with self._lock:
            futures, self._futures = self._futures, []
        try:
            self._producer.flush(timeout=timeout if timeout is not None else self.flush_timeout)
        except KafkaError as exc:
            raise PublishFailed(f"Kafka at {self.bootstrap_servers} did not acknowledge {len(futures)} records in time: {exc}") from exc
        failed = [f for f in futures if not f.succeeded()]
        if failed:
            first = failed[0].exception
            raise PublishFailed(f"{len(failed)} of {len(futures)} records not acknowledged by Kafka: {first}")

    def close(self) -> None:
        try:
            self._producer.close(timeout=10)
        except Exception as exc:  # closing must never hide the error that led here
            log.warning("producer_close_failed", error=str(exc))


class MemoryPublisher:
    """Keeps what was sent in a list: for dry runs and for tests of code that sits above the seam."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes]] = []
        self.acked: list[tuple[str, bytes | None, bytes]] = []
        self.fail_next_flush = False

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.sent.append((topic, key, value))

    def flush(self, timeout: float | None = None) -> None:
        if self.fail_next_flush:
            self.fail_next_flush = False
            self.sent.clear()
            raise PublishFailed("simulated: Kafka did not acknowledge the batch")
        self.acked.extend(self.sent)
        self.sent.clear()

    def close(self) -> None:
        pass


class RegistrySerializer:
    """``Serializer`` over the schema registry: Avro in Confluent framing, one registered schema per topic.

    A record that does not fit its schema raises ``ValueError`` (the SDK dead-letters
    it); an unreachable registry raises ``PublishFailed`` (the SDK backs off).

    The serde checks every record strictly (no field missing without a default, none
    extra), which costs more than the encoding itself. A connector's records of one
    topic come from one event model and always carry the same fields, so the strict
    check runs for the first record with a given set of fields; the following ones
    with exactly those fields are written directly behind the same header (the same
    bytes, by ``avro_writer``; a value of the wrong type still fails).
    """

    def __init__(self, registry_url: str, auto_register: bool = True) -> None:
        from schemas.registry_client import RegistryClient

        self.url = registry_url
        self._client = RegistryClient(registry_url)
        self._auto_register = auto_register
        self._by_topic: dict[str, Any] = {}
        self._checked: dict[str, tuple[bytes, Callable[[dict[str, Any]], bytes], list[frozenset[str]]]] = {}

    def __call__(self, topic: str, record: dict[str, Any]) -> bytes:
        checked = self._checked.get(topic)
        if checked is not None:
            header, write, shapes = checked
            if any(record.keys() == shape for shape in shapes):
                try:
                    return header + write(record)
                except Exception as exc:  # fastavro raises ValueError, TypeError, ... for a bad value
                    raise ValueError(f"cannot encode a record for {topic}: {type(exc).__name__}: {exc}") from exc
        value = self._strict(topic, record)
        if checked is None:
            self._checked[topic] = (value[:5], avro_writer(BY_NAME[topic].value_schema), [frozenset(record)])
        elif len(checked[2]) < 8:
            checked[2].append(frozenset(record))
        return value

    def _strict(self, topic: str, record: dict[str, Any]) -> bytes:
        from schemas.registry_client import RegistryError
        from schemas.serde import AvroSerializer, EncodeError

        ser = self._by_topic.get(topic)
        if ser is None:
            ser = self._by_topic[topic] = AvroSerializer(self._client, topic, auto_register=self._auto_register)
        try:
            return bytes(ser.serialize(record))
        except EncodeError as exc:
            raise ValueError(exc.reason) from exc
        except RegistryError as exc:
            raise PublishFailed(f"schema registry at {self.url} cannot give the schema of {topic}: {exc}. "
                                "Start it with `hub registry` or set HUB_SCHEMA_REGISTRY_URL") from exc

    def close(self) -> None:
        self._client.close()
