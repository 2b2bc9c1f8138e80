"""Confluent's own Python client and serializers against the hub registry and serde: same ids, same bytes."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from hub.registry import RunningRegistry
from schemas.avro_files import schema_text
from schemas.registry_client import RegistryClient
from schemas.serde import AvroDeserializer, AvroSerializer
from tests.schemas.test_serde import EXAMPLES

confluent_sr = pytest.importorskip(
    "confluent_kafka.schema_registry", reason="confluent-kafka[avro,schemaregistry] is not installed (pip install it for this interop test)"
)
confluent_avro = pytest.importorskip("confluent_kafka.schema_registry.avro")
confluent_serialization = pytest.importorskip("confluent_kafka.serialization")


def test_confluent_client_and_serde_interoperate(registry: RunningRegistry, subject: Callable[[str], str]) -> None:
    topic = subject("interop")
    confluent = confluent_sr.SchemaRegistryClient({"url": registry.url})
    schema = confluent_sr.Schema(schema_text("Grade"), "AVRO")
    schema_id = confluent.register_schema(f"{topic}-value", schema)
    assert confluent.lookup_schema(f"{topic}-value", schema).schema_id == schema_id
    assert confluent.get_latest_version(f"{topic}-value").version == 1
    assert confluent.test_compatibility(f"{topic}-value", schema) is True

    ours = RegistryClient(registry.url)
    context = confluent_serialization.SerializationContext(topic, confluent_serialization.MessageField.VALUE)
    theirs = confluent_avro.AvroSerializer(confluent, schema_text("Grade"))(EXAMPLES["Grade"], context)
    mine = AvroSerializer(ours, topic, schema=ours.get_schema(schema_id)).serialize(EXAMPLES["Grade"])
    assert mine == theirs, "the same record gives the same framed bytes"
    assert AvroDeserializer(ours).deserialize(theirs, topic) == EXAMPLES["Grade"]
    read_back = confluent_avro.AvroDeserializer(confluent)(mine, context)
    assert {**read_back, "event_id": str(read_back["event_id"])} == EXAMPLES["Grade"]
    assert isinstance(read_back["event_id"], uuid.UUID)
