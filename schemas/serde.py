"""Avro values in Confluent framing: magic byte 0, 4-byte big-endian schema id, Avro binary.

Records are Avro-ready dicts in fastavro's representation (``Decimal`` for
decimals, aware ``datetime`` for timestamp-millis, ``date`` for date, ``str``
for uuid). The registry is asked once per schema and process; the per-record
path is one header check, one dict lookup and the codec.  cavro reads values
written with the reader's own schema (nearly all), in about half fastavro's
time, and writes complete records (a model's dump) in two thirds; fastavro
resolves differing schemas and writes records that may lean on defaults.
Tests hold the two to each other (the same dicts, the same bytes) on
generated records of every schema.

    >>> ser = AvroSerializer(client, "hub.grades")                  # doctest: +SKIP
    >>> data = ser.serialize(grade)                                 # doctest: +SKIP
    >>> AvroDeserializer(client).deserialize(data, topic="hub.grades")  # doctest: +SKIP

Errors: :class:`EncodeError` (the record does not fit its schema: fix the
mapping or dead-letter it), :class:`DecodeError` (the bytes cannot be read:
dead-letter them). A registry that cannot be reached raises
:class:`schemas.registry_client.RegistryUnavailable` instead: back off and
retry, the record is not at fault.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, Protocol, cast, runtime_checkable

import cavro
import fastavro

from schemas.avro_files import UnknownRecord, load_schema, parsed_schema
from schemas.catalogue import BY_NAME
from schemas.registry_client import RegistryClient, SchemaNotFound

__all__ = [
    "MAGIC_BYTE",
    "AvroDeserializer",
    "AvroSerializer",
    "DecodeError",
    "Deserializer",
    "EncodeError",
    "SerdeError",
    "Serializer",
    "schema_id_of",
]

MAGIC_BYTE = 0


@runtime_checkable
class Serializer(Protocol):
    """Turns one record into the bytes of a Kafka value."""

    def serialize(self, record: Mapping[str, Any]) -> bytes: ...


@runtime_checkable
class Deserializer(Protocol):
    """Turns the bytes of a Kafka value back into a record; where it came from names the failures."""

    def deserialize(self, data: bytes, topic: str | None = None, partition: int | None = None, offset: int | None = None) -> dict[str, Any]: ...


class SerdeError(Exception):
    """Base of the serde's errors."""


class EncodeError(SerdeError):
    """The record does not fit the topic's schema (missing or extra field, wrong type, bad enum symbol)."""

    def __init__(self, topic: str, reason: str, record: Mapping[str, Any]) -> None:
        super().__init__(f"cannot encode a record for {topic}: {reason}")
        self.topic, self.reason, self.record = topic, reason, record


class DecodeError(SerdeError):
    """The bytes are not a readable Confluent-framed Avro value; dead-letter ``data`` with ``reason``."""

    def __init__(
        self,
        reason: str,
        data: bytes | None,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        schema_id: int | None = None,
    ) -> None:
        where = f"{topic or '?'}[{'?' if partition is None else partition}]@{'?' if offset is None else offset}"
        super().__init__(f"cannot decode {where}: {reason}")
        self.reason, self.data = reason, data
        self.topic, self.partition, self.offset, self.schema_id = topic, partition, offset, schema_id


def schema_id_of(data: bytes) -> int:
    """The schema id in a Confluent-framed value's header (no registry call)."""
    if not data or len(data) < 5:
        raise DecodeError(f"{len(data or b'')} bytes is shorter than the 5-byte Confluent header", data)
    if data[0] != MAGIC_BYTE:
        raise DecodeError(f"magic byte is {data[0]}, not 0: not Confluent-framed Avro", data)
    return int.from_bytes(data[1:5], "big")


class AvroSerializer:
    """Encodes records for one topic with its value schema, registered (or looked up) once.

    ``auto_register=False`` only looks the schema up, for registries where CI
    registers schemas and producers may not. ``schema`` replaces the
    catalogue's schema (older producers, tests, topics outside the catalogue).
    """

    def __init__(self, client: RegistryClient, topic: str, *, schema: dict[str, Any] | None = None, auto_register: bool = True) -> None:
        self.topic = topic
        self.subject = f"{topic}-value"
        if schema is None:
            if topic not in BY_NAME:
                raise UnknownRecord(f"{topic!r} is not in the topic catalogue; pass schema= for other topics")
            record_name = BY_NAME[topic].value_schema
            self._schema, self._parsed = None, parsed_schema(record_name)
            self._record_name: str | None = record_name
        else:
            self._schema, self._parsed, self._record_name = schema, fastavro.parse_schema(schema), None
        self._hint = _union_hints(self._parsed, {}, set()) or _same
        self._client, self._auto_register = client, auto_register
        self._header: bytes | None = None

    @property
    def schema_id(self) -> int:
        """The registry id of the schema (asks the registry on first use)."""
        return int.from_bytes(self._connect()[1:5], "big")

    @property
    def header(self) -> bytes:
        """The five framing bytes (magic byte, schema id) every value of this serializer starts with."""
        return self._header or self._connect()

    def serialize(self, record: Mapping[str, Any], *, complete: bool = False) -> bytes:
        """The framed Avro of ``record``; a field missing from it is an error unless the schema gives it a default.

        ``complete``: the record has every field of the schema (a model's dump): cavro
        writes it (the same bytes in two thirds of fastavro's time), without that check.
        """
        if complete:
            if self._fast is not None:
                try:
                    return self.header + self._fast.binary_encode(record)
                except Exception as exc:  # noqa: BLE001 - cavro.InvalidValue, ValueError, TypeError, ...
                    raise EncodeError(self.topic, f"{type(exc).__name__}: {exc}", record) from exc
        out = io.BytesIO()
        out.write(self.header)
        try:
            fastavro.schemaless_writer(out, self._parsed, self._hint(record), strict_allow_default=not complete)
        except Exception as exc:  # fastavro raises ValueError, TypeError, AttributeError, ... for bad records
            raise EncodeError(self.topic, f"{type(exc).__name__}: {exc}", record) from exc
        return out.getvalue()

    @property
    def takes_tuples(self) -> bool:
        """Whether ``serialize(record, complete=True)`` writes tuples as arrays (cavro does; fastavro reads a tuple in
        a union as a (branch, value) pair, see ``to_avro``)."""
        return self._fast is not None

    @cached_property
    def _fast(self) -> cavro.Schema | None:
        """cavro's writer for complete records (None where cavro refuses the schema), made on first use."""
        schema = self._schema if self._schema is not None else load_schema(str(self._record_name))
        return _fast_codec(_without_uuid(schema))

    def _connect(self) -> bytes:
        if self._header is None:
            schema = self._schema if self._schema is not None else load_schema(str(self._record_name))
            if self._auto_register:
                schema_id = self._client.register(self.subject, schema)
            else:
                schema_id = self._client.schema_id(self.subject, schema)
            self._header = bytes([MAGIC_BYTE]) + schema_id.to_bytes(4, "big")
        return self._header


# records as plain dicts and uuids as str, as fastavro reads them; timestamps written in integer arithmetic, as
# fastavro writes them (cavro's default goes through a float and writes some milliseconds one less)
_CAVRO_OPTIONS = cavro.DEFAULT_OPTIONS.replace(record_decodes_to_dict=True, return_uuid_object=False,
                                               alternate_timestamp_millis_encoding=True)
_ONE_BYTE = cavro.Schema('{"type": "fixed", "name": "OneByte", "size": 1}')


class AvroDeserializer:
    """Decodes values of any topic: the writer's schema comes by id, the reader's from the catalogue.

    When the topic is known, values are read with its current catalogue schema
    (``reader_schemas`` overrides per topic), so fields added with defaults
    appear in records written before them. Otherwise the writer's schema reads.
    """

    def __init__(self, client: RegistryClient, reader_schemas: Mapping[str, dict[str, Any]] | None = None) -> None:
        self._client = client
        self._readers = dict(reader_schemas or {})
        self._plans: dict[tuple[int, str | None], tuple[Any, Any, cavro.Schema | None]] = {}

    def deserialize(self, data: bytes, topic: str | None = None, partition: int | None = None, offset: int | None = None) -> dict[str, Any]:
        if not data or len(data) < 5 or data[0] != MAGIC_BYTE:
            self._fail_header(data, topic, partition, offset)
        schema_id = int.from_bytes(data[1:5], "big")
        plan = self._plans.get((schema_id, topic))
        if plan is None:
            plan = self._plan(schema_id, data, topic, partition, offset)
        if plan[2] is not None:
            return self._read_fast(plan[2], data, schema_id, topic, partition, offset)
        stream = io.BytesIO(data)
        stream.seek(5)
        try:
            record = fastavro.schemaless_reader(stream, plan[0], plan[1])
        except Exception as exc:  # EOFError, IndexError, UnicodeDecodeError, SchemaResolutionError, ...
            raise DecodeError(f"Avro body unreadable with schema {schema_id}: {type(exc).__name__}: {exc}", data, topic, partition, offset, schema_id) from exc
        if stream.tell() != len(data):
            raise DecodeError(f"{len(data) - stream.tell()} bytes left after the record (schema {schema_id})", data, topic, partition, offset, schema_id)
        return cast(dict[str, Any], record)

    @staticmethod
    def _read_fast(schema: cavro.Schema, data: bytes, schema_id: int, topic: str | None, partition: int | None,
                   offset: int | None) -> dict[str, Any]:
        reader = cavro.MemoryReader(memoryview(data)[5:])
        try:
            record = schema.binary_read(reader)
        except Exception as exc:  # EOFError, UnicodeDecodeError, ValueError, cavro.CavroException, ...
            raise DecodeError(f"Avro body unreadable with schema {schema_id}: {type(exc).__name__}: {exc}", data, topic, partition, offset, schema_id) from exc
        try:
            _ONE_BYTE.binary_read(reader)  # the end of the value must be the end of the record
        except EOFError:
            return cast(dict[str, Any], record)
        raise DecodeError(f"bytes left after the record (schema {schema_id})", data, topic, partition, offset, schema_id)

    def _fail_header(self, data: bytes, topic: str | None, partition: int | None, offset: int | None) -> None:
        try:
            schema_id_of(data)
        except DecodeError as exc:
            raise DecodeError(exc.reason, data, topic, partition, offset) from None

    def _plan(self, schema_id: int, data: bytes, topic: str | None, partition: int | None, offset: int | None) -> tuple[Any, Any, cavro.Schema | None]:
        try:
            writer = self._client.get_schema(schema_id)
        except SchemaNotFound as exc:
            raise DecodeError(f"schema id {schema_id} is unknown to the registry at {self._client.display_url}", data, topic, partition, offset, schema_id) from exc
        reader = self._reader(topic)
        plan: tuple[Any, Any, cavro.Schema | None]
        try:
            if reader is None or _key(_without_uuid(writer)) == _key(_without_uuid(reader)):
                schema = _without_uuid(reader if reader is not None else writer)
                plan = (fastavro.parse_schema(schema), None, _fast_codec(schema))
            else:
                plan = (fastavro.parse_schema(_without_uuid(writer)), fastavro.parse_schema(_without_uuid(reader)), None)
        except Exception as exc:  # a registered schema fastavro cannot use
            raise DecodeError(f"schema {schema_id} cannot be used: {exc}", data, topic, partition, offset, schema_id) from exc
        self._plans[(schema_id, topic)] = plan
        return plan

    def _reader(self, topic: str | None) -> dict[str, Any] | None:
        if topic in self._readers:
            return self._readers[topic]
        if topic in BY_NAME:
            return load_schema(BY_NAME[topic].value_schema)
        return None


def _fast_codec(schema: Any) -> cavro.Schema | None:
    """cavro's codec of ``schema``, or None where cavro refuses a schema fastavro takes (fastavro then does the work)."""
    try:
        return cavro.Schema(json.dumps(schema), options=_CAVRO_OPTIONS)
    except Exception:  # noqa: BLE001 - cavro is stricter about names and defaults; fastavro is the reference
        return None


def _same(value: Any) -> Any:
    return value


def _union_hints(schema: Any, named: dict[str, Any], seen: set[str]) -> Callable[[Any], Any] | None:
    """A function that names the branch of each ``["null", <record|array|map>]`` union value, or None if none.

    fastavro picks a union branch by validating the value against each branch,
    which for a record means validating it whole, again at every nesting level;
    naming the branch (fastavro's tuple notation) skips that and writes the
    same bytes. Works on a fastavro-parsed schema (full names everywhere).
    """
    if isinstance(schema, str):
        if schema in named and schema not in seen:
            return _union_hints(named[schema], named, seen | {schema})
        return None
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        if len(schema) != 2 or len(branches) != 1 or not _complex(branches[0], named):
            return None
        branch = branches[0]
        name = branch if isinstance(branch, str) else branch.get("name", branch["type"])
        inner = _union_hints(branch, named, seen) or _same
        return lambda value: value if value is None else (name, inner(value))
    kind = schema.get("type")
    if kind in ("record", "enum", "fixed"):
        named[schema["name"]] = schema
    if kind == "record":
        steps = [(f["name"], fn) for f in schema["fields"] if (fn := _union_hints(f["type"], named, seen)) is not None]
        if not steps:
            return None

        def record(value: Any) -> Any:
            if not isinstance(value, Mapping):
                return value  # fastavro explains what is wrong
            out = dict(value)
            for field_name, fn in steps:
                if field_name in out:
                    out[field_name] = fn(out[field_name])
            return out

        return record
    if kind in ("array", "map"):
        each = _union_hints(schema["items" if kind == "array" else "values"], named, seen)
        if each is None:
            return None
        if kind == "array":
            return lambda value: [each(v) for v in value] if isinstance(value, list) else value
        return lambda value: {k: each(v) for k, v in value.items()} if isinstance(value, Mapping) else value
    return None


def _complex(schema: Any, named: dict[str, Any]) -> bool:
    if isinstance(schema, str):
        return schema in named and named[schema].get("type") == "record"
    return isinstance(schema, dict) and schema.get("type") in ("record", "array", "map")


def _key(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def _without_uuid(schema: Any) -> Any:
    """The schema with uuid logical types dropped, so uuids read as ``str``.

    fastavro makes ``UUID`` objects when either side of a read carries the
    logical type, so both the writer's and the reader's schema go through this.
    """
    if isinstance(schema, list):
        return [_without_uuid(s) for s in schema]
    if isinstance(schema, dict):
        return {k: _without_uuid(v) for k, v in schema.items() if not (k == "logicalType" and v == "uuid")}
    return schema
