"""Avro through the backbone's serde, for faust and for plain Kafka clients alike.

Values on every hub topic are Confluent-framed Avro (``schemas.serde``); nothing
here pickles or writes JSON to a topic.  Input topics are read as raw bytes and
decoded by :meth:`HubCodec.decode`, so a poison message still yields its bytes,
topic, partition and offset for the dead letter.  Output topics use a faust codec
per topic (:func:`faust_codec_name`) that encodes a typed event with that topic's
schema, so agents ``send(value=event)``.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.serializers import codecs
from pydantic import ValidationError

from schemas.avro_files import load_schema
from schemas.catalogue import BY_NAME
from schemas.models import Event, from_avro, to_avro
from schemas.registry_client import RegistryClient
from schemas.serde import AvroDeserializer, AvroSerializer, DecodeError, EncodeError
from schemas.written import from_written_avro

__all__ = ["HubCodec", "InvalidEvent", "DecodeError", "EncodeError", "faust_codec_name", "register_faust_codecs"]


class InvalidEvent(ValueError):
    """The bytes decoded but the record is not a valid hub event (pydantic said why): dead-letter it."""


class HubCodec:
    """Encodes and decodes the hub's events for topics under an optional name prefix.

    ``names`` maps each real topic name to its record name (``Grade``, ...); catalogue
    topics are known, extra ones (the registrar re-key topic) are added with
    :meth:`add_topic`.
    """

    def __init__(self, registry_url: str, prefix: str = "", client: RegistryClient | None = None) -> None:
        self.prefix = prefix
        self.client = client or RegistryClient(registry_url)
        self.records: dict[str, str] = {f"{prefix}{t.name}": t.value_schema for t in BY_NAME.values()}
        self._readers: dict[str, dict[str, Any]] = {}
        self._deserializer: AvroDeserializer | None = None
        self._serializers: dict[str, AvroSerializer] = {}
        self._written: set[str] = set()  # topics whose records the hub validated before writing them (see read_as_written)

    def add_topic(self, topic: str, record_name: str) -> None:
        self.records[topic] = record_name
        self._deserializer = None

    def read_as_written(self, *topics: str) -> None:
        """Decode ``topics`` without validating their records again: the hub's own stage validated each before writing
        it (``schemas.written``).  Bytes that do not decode are still a DecodeError."""
        self._written.update(topics)

    def record_of(self, topic: str) -> str:
        try:
            return self.records[topic]
        except KeyError:
            raise KeyError(f"{topic!r} is not a hub topic under prefix {self.prefix!r}") from None

    def encode(self, topic: str, event: Event) -> bytes:
        """The Avro value of ``event`` for ``topic`` (raises EncodeError)."""
        ser = self.serializer(topic)
        return ser.serialize(to_avro(event, lists=not ser.takes_tuples), complete=True)  # a model's dump has every field

    def serializer(self, topic: str) -> AvroSerializer:
        ser = self._serializers.get(topic)
        if ser is None:
            ser = self._serializers[topic] = AvroSerializer(self.client, topic, schema=load_schema(self.record_of(topic)))
        return ser

    def writes_as(self, topic: str, data: bytes | None) -> bool:
        """Whether ``data`` is framed with the schema ``topic`` writes, so it can go there unchanged."""
        return bool(data) and data[:5] == self.serializer(topic).header

    def decode(self, topic: str, data: bytes | None, partition: int | None = None, offset: int | None = None) -> Event:
        """The typed event in a value; DecodeError (unreadable bytes) or InvalidEvent (readable, not valid)."""
        return self.event(topic, self.record(topic, data, partition, offset))

    def record(self, topic: str, data: bytes | None, partition: int | None = None, offset: int | None = None) -> dict[str, Any]:
        """The Avro record in a value, as fastavro reads it (DecodeError), before the model validates it."""
        if self._deserializer is None:
            readers = {t: load_schema(r) for t, r in self.records.items()}
            self._deserializer = AvroDeserializer(self.client, readers)
        return self._deserializer.deserialize(data or b"", topic, partition, offset)

    def event(self, topic: str, record: dict[str, Any]) -> Event:
        """The typed event of a record :meth:`record` read from ``topic`` (InvalidEvent if the model refuses it)."""
        try:
            if topic in self._written:
                return from_written_avro(self.record_of(topic), record)
            return from_avro(self.record_of(topic), record)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise InvalidEvent(f"not a valid {self.record_of(topic)}: {problems}") from exc

    def close(self) -> None:
        self.client.close()


class _TopicCodec(faust.Codec):
    """A faust codec that writes one topic's events as Avro (bytes pass through untouched)."""

    def __init__(self, hub: HubCodec, topic: str) -> None:
        super().__init__()
        self.hub, self.topic = hub, topic

    def _dumps(self, obj: Any) -> bytes:
        if isinstance(obj, (bytes, bytearray)):
            return bytes(obj)
        return self.hub.encode(self.topic, obj)

    def _loads(self, s: bytes) -> Any:
        return s


def faust_codec_name(topic: str) -> str:
    return f"hub-avro:{topic}"


def register_faust_codecs(hub: HubCodec, topics: list[str]) -> None:
    """Register one faust codec per output topic (``value_serializer=faust_codec_name(topic)``)."""
    for topic in topics:
        codecs.register(faust_codec_name(topic), _TopicCodec(hub, topic))
