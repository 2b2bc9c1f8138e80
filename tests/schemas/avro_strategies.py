"""Hypothesis strategies that draw any value an Avro schema admits, in fastavro's representation."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _timestamps() -> st.SearchStrategy[datetime]:
    millis = st.integers(min_value=0, max_value=4_102_444_800_000)  # up to 2100
    return millis.map(lambda ms: _EPOCH + timedelta(milliseconds=ms))


def _decimals(precision: int, scale: int) -> st.SearchStrategy[Decimal]:
    bound = 10 ** (precision) - 1
    return st.integers(min_value=-bound, max_value=bound).map(lambda n: Decimal(n).scaleb(-scale))


def strategy(schema, named: dict | None = None, overrides: dict | None = None):
    """A strategy for values of ``schema`` (a parsed-JSON Avro schema)."""
    named = {} if named is None else named
    overrides = overrides or {}
    if isinstance(schema, str):
        primitive = {
            "null": st.none(),
            "boolean": st.booleans(),
            "int": st.integers(-(2**31), 2**31 - 1),
            "long": st.integers(-(2**63), 2**63 - 1),
            "float": st.floats(width=32, allow_nan=False, allow_infinity=False),
            "double": st.floats(allow_nan=False, allow_infinity=False),
            "string": st.text(max_size=20),
            "bytes": st.binary(max_size=40),
        }
        if schema in primitive:
            return primitive[schema]
        return st.deferred(lambda: named[schema])
    if isinstance(schema, list):
        return st.one_of([strategy(s, named) for s in schema])
    kind = schema["type"]
    logical = schema.get("logicalType")
    if logical == "timestamp-millis":
        return _timestamps()
    if logical == "date":
        return st.dates(min_value=date(1970, 1, 1), max_value=date(2100, 1, 1))
    if logical == "decimal":
        return _decimals(schema["precision"], schema["scale"])
    if logical == "uuid":
        return st.uuids().map(str)
    if kind == "enum":
        s = st.sampled_from(schema["symbols"])
        named[schema["name"]] = s
        return s
    if kind == "array":
        return st.lists(strategy(schema["items"], named), max_size=3)
    if kind == "map":
        return st.dictionaries(st.text(max_size=5), strategy(schema["values"], named), max_size=3)
    if kind == "record":
        fields = {}
        for f in schema["fields"]:
            fields[f["name"]] = overrides[f["name"]] if f["name"] in overrides else strategy(f["type"], named)
        s = st.fixed_dictionaries(fields)
        named[schema["name"]] = s
        return s
    return strategy(kind, named)
