"""A compiled Avro encoder for flat records (Grade, Enrolment, DeadLetter): the connector's hot path.

fastavro writes a flat Grade in ~35 µs, a third of a connector's cost per event,
most of it choosing ``["null", "string"]`` union branches and converting logical
types. ``flat_writer(schema)`` turns a flat record schema into one function that
writes the same bytes in a fraction of that; a schema with arrays, maps, nested
records or other unions gets ``None`` and stays with fastavro. Records come from
validated pydantic models and the first one of each shape was checked by the
strict serde, so a value of the wrong type is only guarded, not explained: it
raises ``ValueError``.
"""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import fastavro

from schemas.avro_files import parsed_schema

Encode = Callable[[Any, bytearray], None]

_MISSING = object()
_CACHED = 4096  # encoded values kept per field
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def _long(n: int, out: bytearray) -> None:
    if 0 <= n < 64:  # one byte: lengths, enum indexes, small counts
        out.append(n << 1)
        return
    n = (n << 1) ^ (n >> 63)
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _string(value: str, out: bytearray) -> None:
    data = value.encode("utf-8")
    n = len(data)
    if n < 64:
        out.append(n << 1)
    else:
        _long(n, out)
    out += data


def _bytes(value: bytes, out: bytearray) -> None:
    _long(len(value), out)
    out += value


def _as_int(value: Any) -> int:
    if isinstance(value, int):  # bool and int subclasses (IntEnum): fastavro writes them as numbers too
        return int(value)
    raise TypeError(f"{type(value).__name__} {value!r} is not an int")


def _int(value: int, out: bytearray) -> None:
    _long(value if value.__class__ is int else _as_int(value), out)


def _boolean(value: bool, out: bytearray) -> None:
    out.append(1 if value else 0)


def _timestamp_millis(value: Any, out: bytearray) -> None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime for a timestamp-millis field")
        delta = value - _EPOCH
        value = (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    _long(value, out)


def _date(value: Any, out: bytearray) -> None:
    if isinstance(value, date):
        value = value.toordinal() - _EPOCH_DAY
    _long(value, out)


def _decimal(scale: int) -> Encode:
    def encode(value: Decimal, out: bytearray) -> None:
        sign, digits, exp = value.as_tuple()
        if not isinstance(exp, int) or -exp > scale:
            raise ValueError(f"{value} has more than the schema's {scale} decimal places")
        unscaled = int(value.scaleb(scale))
        data = unscaled.to_bytes((unscaled.bit_length() + 8) // 8, "big", signed=True)
        _long(len(data), out)
        out += data

    return encode


def _enum(symbols: list[str]) -> Encode:
    index = {s: i for i, s in enumerate(symbols)}

    def encode(value: Any, out: bytearray) -> None:
        _long(index[getattr(value, "value", value)], out)

    return encode


def _packed(fmt: str) -> Encode:
    pack = struct.Struct(fmt).pack

    def encode(value: float, out: bytearray) -> None:
        out += pack(value)

    return encode


_PRIMITIVE: dict[str, Encode] = {"string": _string, "bytes": _bytes, "int": _int, "long": _int,
                                 "boolean": _boolean, "float": _packed("<f"), "double": _packed("<d")}


def _plain(schema: Any) -> Encode | None:
    """The encoder of a non-union field type, or None if it is not flat."""
    if isinstance(schema, str):
        return _PRIMITIVE.get(schema)
    if not isinstance(schema, dict):
        return None
    kind, logical = schema.get("type"), schema.get("logicalType")
    if kind == "enum":
        return _enum(list(schema["symbols"]))
    if logical == "timestamp-millis" and kind == "long":
        return _timestamp_millis
    if logical == "date" and kind == "int":
        return _date
    if logical == "decimal" and kind == "bytes":
        return _decimal(int(schema.get("scale", 0)))
    if logical in (None, "uuid") and isinstance(kind, str) and kind in _PRIMITIVE:
        return _PRIMITIVE[kind] if logical is None else (_string if kind == "string" else None)
    return None


def _field(schema: Any) -> Encode | None:
    if not isinstance(schema, list):
        return _plain(schema)
    if len(schema) != 2 or "null" not in schema:
        return None
    null_index = schema.index("null")
    inner = _plain(schema[1 - null_index])
    if inner is None:
        return None
    null_mark, value_mark = bytes([null_index * 2]), bytes([(1 - null_index) * 2])

    def optional(value: Any, out: bytearray) -> None:
        if value is None:
            out += null_mark
        else:
            out += value_mark
            inner(value, out)

    return optional


def flat_writer(schema: dict[str, Any]) -> Callable[[dict[str, Any]], bytes] | None:
    """``write(record) -> bytes`` for a flat record schema (the bytes fastavro writes); None if not flat.

    The function is generated with each field's steps inlined (strings and optional strings, most fields
    of an event, need no call at all), as the per-field calls would cost as much as the encoding.
    """
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return None
    env: dict[str, Any] = {"_long": _long, "_as_int": _as_int, "_encoded": _encoded, "_MISSING": _MISSING}
    body = ["def write(record):", "    out = bytearray()", "    get = record.get", "    name = ''", "    try:"]
    for i, f in enumerate(schema["fields"]):
        ftype, name = f["type"], f["name"]
        if _field(ftype) is None:
            return None
        env[f"d{i}"] = f.get("default", _MISSING)
        body += [f"        name = {name!r}", f"        v = get({name!r}, d{i})",
                 "        if v is _MISSING:", "            raise KeyError('missing and without a default')"]
        if ftype == "string" or (isinstance(ftype, dict) and ftype.get("type") == "string"):
            body += _inline_string("        ")
        elif isinstance(ftype, list) and "string" in ftype:
            null_first = ftype[0] == "null"
            body += ["        if v is None:", f"            out.append({0 if null_first else 2})", "        else:",
                     f"            out.append({2 if null_first else 0})", *_inline_string("            ")]
        elif ftype in ("int", "long") or (isinstance(ftype, dict) and ftype.get("type") in ("int", "long")
                                           and ftype.get("logicalType") is None):
            body += ["        if v.__class__ is not int:", "            v = _as_int(v)", *_inline_long("        ")]
        else:  # timestamps, dates, decimals, enums: few distinct values, each encoded once (a bounded cache)
            env[f"e{i}"], env[f"c{i}"] = _field(ftype), {}
            body += [f"        b = c{i}.get(v)", "        if b is None:", f"            b = _encoded(e{i}, v, c{i})",
                     "        out += b"]
    body += ["    except (KeyError, TypeError, AttributeError, ValueError, OverflowError, struct.error) as exc:",
             "        raise ValueError(f'field {name}: {type(exc).__name__}: {exc}') from exc",
             "    return bytes(out)"]
    env["struct"] = struct
    exec(compile("\n".join(body), f"<avro writer {schema.get('name')}>", "exec"), env)  # noqa: S102
    return env["write"]  # type: ignore[no-any-return]


def _encoded(encode: Encode, value: Any, cache: dict[Any, bytes]) -> bytes:
    out = bytearray()
    encode(value, out)
    if len(cache) >= _CACHED:
        cache.clear()
    cache[value] = data = bytes(out)
    return data


def _inline_long(indent: str) -> list[str]:
    return [f"{indent}if 0 <= v < 64:", f"{indent}    out.append(v << 1)", f"{indent}else:", f"{indent}    _long(v, out)"]


def _inline_string(indent: str) -> list[str]:
    return [f"{indent}b = v.encode('utf-8')", f"{indent}n = len(b)", f"{indent}if n < 64:",
            f"{indent}    out.append(n << 1)", f"{indent}else:", f"{indent}    _long(n, out)", f"{indent}out += b"]


@functools.cache
def avro_writer(record_name: str) -> Callable[[dict[str, Any]], bytes]:
    """The fastest writer of plain Avro bytes for a catalogue record: compiled when flat, else fastavro."""
    parsed = parsed_schema(record_name)
    compiled = flat_writer(parsed)
    if compiled is not None:
        return compiled

    def with_fastavro(record: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, record)
        return buf.getvalue()

    return with_fastavro
