"""The compiled Avro writer of flat records writes exactly fastavro's bytes, and refuses what fastavro refuses."""

from __future__ import annotations

import io
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import fastavro
import pytest

from connectors.sdk._avro import avro_writer, flat_writer
from schemas.avro_files import parsed_schema
from schemas.catalogue import BY_NAME

RECORDS = sorted({t.value_schema for t in BY_NAME.values()})


def _value(t: Any, r: random.Random) -> Any:
    if isinstance(t, list):
        return None if r.random() < 0.4 else _value(next(x for x in t if x != "null"), r)
    if isinstance(t, dict):
        logical, kind = t.get("logicalType"), t["type"]
        if kind == "enum":
            return r.choice(t["symbols"])
        if logical == "timestamp-millis":
            return datetime(2020, 1, 1, tzinfo=UTC) + timedelta(milliseconds=r.randint(-10**12, 10**12))
        if logical == "date":
            return date(1970, 1, 1) + timedelta(days=r.randint(-30000, 30000))
        if logical == "decimal":
            if r.random() < 0.3:
                return Decimal(r.choice([0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, -32768]))
            return Decimal(r.randint(-999999, 999999)).scaleb(-t.get("scale", 0))
        if logical == "uuid":
            return str(uuid.UUID(int=r.getrandbits(128)))
        return _value(kind, r)
    return {"string": lambda: "".join(r.choice("aäб€x;,\n") for _ in range(r.randint(0, 90))),
            "int": lambda: r.randint(-2**31, 2**31 - 1), "long": lambda: r.randint(-2**63, 2**63 - 1),
            "bytes": lambda: r.randbytes(r.randint(0, 300)), "boolean": lambda: r.random() < 0.5,
            "double": lambda: r.uniform(-1e9, 1e9), "float": lambda: r.choice([0.0, 1.5, -2.25])}[t]()


def _fastavro(schema: Any, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, record)
    return buf.getvalue()


def test_the_connector_records_are_flat():
    for name in ("Grade", "Enrolment", "DeadLetter"):
        assert flat_writer(parsed_schema(name)) is not None, name
    assert flat_writer(parsed_schema("Mobility")) is None  # arrays of components: fastavro writes it


@pytest.mark.parametrize("name", RECORDS)
def test_the_same_bytes_as_fastavro(name: str):
    schema = parsed_schema(name)
    write = avro_writer(name)
    rng = random.Random(name)
    if flat_writer(schema) is None:
        pytest.skip(f"{name} is not flat: written by fastavro itself")
    records = [{f["name"]: _value(f["type"], rng) for f in schema["fields"]} for _ in range(400)]
    for record in records + records[::-1]:  # again, from the writer's cache of encoded values
        assert write(record) == _fastavro(schema, record), record


def test_bad_values_are_refused():
    write = avro_writer("Grade")
    schema = parsed_schema("Grade")
    good = {f["name"]: _value(f["type"], random.Random(1)) for f in schema["fields"]}
    good["ects"] = Decimal("5.5")
    write(good)
    for field, bad in (("attempt", "two"), ("attempt", 2.5), ("schema_version", "1"), ("student_id", None), ("ects", Decimal("1.234")), ("status", "LOST"),
                       ("occurred_at", datetime(2025, 1, 1))):
        with pytest.raises(ValueError, match=field):
            write({**good, field: bad})
    without = dict(good)
    del without["student_id"]
    with pytest.raises(ValueError, match="student_id"):
        write(without)
    del without["trace_id"]
    without["student_id"] = "s1"
    assert write(without) == _fastavro(schema, {**without, "trace_id": ""})  # a default fills the field in
