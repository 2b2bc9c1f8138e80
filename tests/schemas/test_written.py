"""A record the hub wrote from a validated model reads back, unvalidated, as that very model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas.models import EVENT_MODELS, from_avro, to_avro
from schemas.serde import _fast_codec, _without_uuid
from schemas.written import from_written_avro
from tests.schemas.avro_strategies import strategy

AVRO_DIR = Path(__file__).resolve().parents[2] / "schemas" / "avro"


def _schema(name: str) -> dict:
    return json.loads((AVRO_DIR / f"{name}.avsc").read_text())


def _shape(value):
    """Types all the way down (with each timestamp's tzinfo object): equal models could still differ in these."""
    if isinstance(value, BaseModel):
        return type(value), {k: _shape(v) for k, v in value.__dict__.items()}, value.model_fields_set
    if isinstance(value, (tuple, list)):
        return type(value), [_shape(v) for v in value]
    return type(value), getattr(value, "tzinfo", None), getattr(value, "as_tuple", lambda: None)()


@pytest.mark.parametrize("name", sorted(EVENT_MODELS))
@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_written_record_reads_back_as_the_validated_model(name, data):
    event = from_avro(name, data.draw(strategy(_schema(name), overrides={"event_type": st.just(name)})))
    codec = _fast_codec(_without_uuid(_schema(name)))
    record = codec.binary_decode(codec.binary_encode(to_avro(event)))  # as the recogniser reads the normaliser's bytes
    ours = from_written_avro(name, record)
    assert ours == event == from_avro(name, record)
    assert _shape(ours) == _shape(event)
    assert ours.model_dump_json() == event.model_dump_json()


@settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_record_without_event_type_gets_its_record_name(data):
    name = "Grade"
    event = from_avro(name, data.draw(strategy(_schema(name), overrides={"event_type": st.just(name)})))
    record = {**to_avro(event), "event_type": ""}
    assert from_written_avro(name, record).event_type == name
