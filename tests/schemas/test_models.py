"""Every typed model round-trips losslessly with its Avro record and its canonical JSON form."""

from __future__ import annotations

import io
import json
from pathlib import Path

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.canonical import BadLine, CanonicalJsonError, from_json, read_jsonl, to_json
from schemas.models import _FLAT, EVENT_MODELS, _lists, dumped_python, from_avro, to_avro
from schemas.serde import _fast_codec, _without_uuid
from tests.schemas.avro_strategies import strategy

AVRO_DIR = Path(__file__).resolve().parents[2] / "schemas" / "avro"


def _schema(name: str) -> dict:
    return json.loads((AVRO_DIR / f"{name}.avsc").read_text())


def _avro_bytes(parsed, record: dict) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed, record)
    return buf.getvalue()


def test_every_avsc_has_a_model_and_back():
    assert {p.stem for p in AVRO_DIR.glob("*.avsc")} == set(EVENT_MODELS)


@pytest.mark.parametrize("name", sorted(EVENT_MODELS))
def test_model_fields_mirror_the_schema(name):
    schema_fields = [f["name"] for f in _schema(name)["fields"]]
    assert list(EVENT_MODELS[name].model_fields) == schema_fields


@pytest.mark.parametrize("name", sorted(EVENT_MODELS))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_avro_and_json_round_trip(name, data):
    raw = _schema(name)
    parsed = fastavro.parse_schema(raw)
    record = data.draw(strategy(raw, overrides={"event_type": st.just(name)}))
    event = from_avro(name, record)
    # model -> Avro bytes -> model is the identity
    wire = _avro_bytes(parsed, to_avro(event))
    decoded = fastavro.schemaless_reader(io.BytesIO(wire), parsed)
    assert from_avro(name, decoded) == event
    # and the Avro bytes are stable: encoding the decoded event again gives the same bytes
    assert _avro_bytes(parsed, to_avro(from_avro(name, decoded))) == wire
    # canonical JSON round-trips too
    assert from_json(to_json(event)) == event


@pytest.mark.parametrize("name", sorted(EVENT_MODELS))
@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_to_avro_is_what_model_dump_gives(name, data):
    raw = _schema(name)
    event = from_avro(name, data.draw(strategy(raw, overrides={"event_type": st.just(name)})))
    reference = event.model_dump(mode="python")
    assert dumped_python(event) == reference
    assert _deep_types(dumped_python(event)) == _deep_types(reference)
    record = to_avro(event)
    assert record == _lists(reference)
    assert _deep_types(record) == _deep_types(_lists(reference))
    assert _deep_types(to_avro(event, lists=False)) == _deep_types(reference)
    record.clear()  # a copy: the event keeps its values
    assert to_avro(event)


def _deep_types(value):
    """Types all the way down, with dict keys in order: equal dumps could still differ in these."""
    if isinstance(value, dict):
        return dict, [(k, _deep_types(v)) for k, v in value.items()]
    if isinstance(value, (tuple, list)):
        return type(value), [_deep_types(v) for v in value]
    return type(value), getattr(value, "tzinfo", None)


@pytest.mark.parametrize("name", sorted(EVENT_MODELS))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_fast_codec_reads_what_fastavro_reads(name, data):
    """Values written with the reader's own schema are read by cavro: the same dicts, values and types as fastavro's."""
    raw = _without_uuid(_schema(name))
    parsed = fastavro.parse_schema(raw)
    wire = _avro_bytes(parsed, data.draw(strategy(_schema(name), overrides={"event_type": st.just(name)})))
    ours = _fast_codec(raw).binary_decode(wire)
    reference = fastavro.schemaless_reader(io.BytesIO(wire), parsed)
    assert ours == reference
    assert _types(ours) == _types(reference)


@pytest.mark.parametrize("name", sorted(EVENT_MODELS))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_fast_writer_writes_what_fastavro_writes(name, data):
    """A model's dump is written by cavro: the same bytes as fastavro's, with its arrays as lists or as the tuples the model holds."""
    event = from_avro(name, data.draw(strategy(_schema(name), overrides={"event_type": st.just(name)})))
    record = to_avro(event)
    fast = _fast_codec(_without_uuid(_schema(name)))
    wire = _avro_bytes(fastavro.parse_schema(_schema(name)), record)
    assert fast.binary_encode(record) == wire
    assert fast.binary_encode(to_avro(event, lists=False)) == wire


def test_the_fast_writer_writes_timestamps_to_the_millisecond_as_fastavro():
    """cavro's default timestamp encoding goes through a float (32.559 s became 32,558 ms): the hub's options avoid it."""
    import random
    from datetime import UTC, datetime, timedelta

    schema = {"type": "record", "name": "T", "fields": [{"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}
    fast, parsed = _fast_codec(schema), fastavro.parse_schema(schema)
    rnd = random.Random(7)
    moments = [datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=32_559)]
    moments += [datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=rnd.randint(-10**12, 4 * 10**12)) for _ in range(20_000)]
    assert [fast.binary_encode({"t": m}) for m in moments] == [_avro_bytes(parsed, {"t": m}) for m in moments]


def _types(value):
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value), getattr(value, "tzinfo", None) and value.utcoffset()


def test_flat_models_are_the_ones_without_nested_records():
    assert {m.__name__ for m in _FLAT} == {"Enrolment", "Grade", "MobilityStatus", "DeadlineAlert", "DeadLetter", "RegistrarDecision"}


def test_canonical_json_rejects_what_it_cannot_read():
    with pytest.raises(CanonicalJsonError, match="event_type"):
        from_json('{"event_type": "Nope"}')
    with pytest.raises(CanonicalJsonError, match="not JSON"):
        from_json("{broken")
    with pytest.raises(CanonicalJsonError, match="invalid Grade"):
        from_json('{"event_type": "Grade", "source_hei": "hh.se"}')


def test_read_jsonl_reports_bad_lines_with_their_number(tmp_path):
    good = to_json(
        from_avro(
            "Enrolment",
            {
                "event_id": "6f1f7a1e-5c1a-4d5e-9a57-6c2b8a0d9b11",
                "event_type": "Enrolment",
                "source_hei": "hh.se",
                "occurred_at": "2025-09-01T08:00:00Z",
                "recorded_at": "2025-09-01T08:00:01Z",
                "student_id": "s1",
                "hei": "hh.se",
                "course_code": "DT4001",
                "term_id": "2025/2026-1",
                "ects": 7.5,
                "status": "REGISTERED",
            },
        )
    )
    path = tmp_path / "events.jsonl"
    path.write_text(f"{good}\nnot json\n\n{good}\n", encoding="utf-8")
    items = list(read_jsonl(path))
    assert [type(i).__name__ for i in items] == ["Enrolment", "BadLine", "Enrolment"]
    assert isinstance(items[1], BadLine) and items[1].line_no == 2
