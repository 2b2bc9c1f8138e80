"""Avro schema validation and compatibility, as the registry and CI apply them.

The checking itself is Apache Avro's ``avro.compatibility`` (the port of the
Java ``SchemaCompatibility`` that Confluent's registry uses); this module picks
the reader/writer pairs for each level and words the findings. To word them,
it records each finding as avro makes it (avro's own result keeps messages and
locations in separate unordered sets); the verdict is always avro's.

    >>> old = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
    >>> new = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"},
    ...                                                  {"name": "b", "type": "int"}]}
    >>> check_compatibility(new, [old], "BACKWARD")[0].startswith("BACKWARD")
    True
    >>> check_compatibility(new, [old], "FORWARD")
    []
"""

from __future__ import annotations

import contextvars
import json
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import avro.compatibility as _avro_compat
import avro.schema
import fastavro

__all__ = ["DEFAULT_LEVEL", "LEVELS", "InvalidLevel", "InvalidSchema", "check_compatibility", "validate_schema"]

LEVELS = ("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE")
DEFAULT_LEVEL = "BACKWARD"

SchemaLike = dict[str, Any] | list[Any] | str


class InvalidSchema(ValueError):
    """The text is not a valid Avro schema; the message says what to fix."""


class InvalidLevel(ValueError):
    """Not one of :data:`LEVELS`."""


def validate_schema(schema: SchemaLike) -> Any:
    """The schema's JSON value after checking it with both Avro parsers the hub uses.

    ``schema`` is JSON text or an already-decoded JSON value. Apache Avro checks
    names and duplicates, fastavro checks defaults and logical types (it is the
    one that encodes, so it must accept the schema too).
    """
    text = _as_text(schema)
    _parsed(text)
    return json.loads(text)


def _as_text(schema: SchemaLike) -> str:
    if isinstance(schema, str):
        return schema
    try:
        return json.dumps(schema, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidSchema(f"schema is not JSON: {exc}") from exc


def _parsed(text: str) -> avro.schema.Schema:
    """Apache Avro's parse of a checked schema; cached (the registry checks the same texts again and again),
    except for huge texts, which a hostile client could use to fill the memory."""
    return _parse_cached(text) if len(text) <= 256 * 1024 else _parse(text)


@lru_cache(maxsize=1024)
def _parse_cached(text: str) -> avro.schema.Schema:
    return _parse(text)


def _parse(text: str) -> avro.schema.Schema:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidSchema(f"schema is not valid JSON: {exc}") from exc
    try:
        fastavro.parse_schema(value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return avro.schema.parse(text)
    except RecursionError as exc:
        raise InvalidSchema("invalid Avro schema: nested too deeply") from exc
    except Exception as exc:  # both parsers raise many kinds (SchemaParseException, InvalidName, UnknownType, TypeError, ...)
        raise InvalidSchema(f"invalid Avro schema: {exc}") from exc


def check_compatibility(
    new_schema: SchemaLike,
    existing: Sequence[SchemaLike],
    level: str,
    versions: Sequence[int] | None = None,
) -> list[str]:
    """Why ``new_schema`` may not follow ``existing`` (oldest first) under ``level``; empty = compatible.

    Non-transitive levels compare with the latest existing schema only.
    ``versions`` names the existing schemas in messages (default 1..n).
    """
    level = level.upper() if isinstance(level, str) else level
    if level not in LEVELS:
        raise InvalidLevel(f"{level!r} is not a compatibility level; use one of {', '.join(LEVELS)}")
    new = _parsed(_as_text(new_schema))
    if level == "NONE" or not existing:
        return []
    labels = list(versions) if versions is not None else list(range(1, len(existing) + 1))
    pairs = list(zip(labels, existing))
    if not level.endswith("_TRANSITIVE"):
        pairs = pairs[-1:]
    base = level.removesuffix("_TRANSITIVE")
    messages: list[str] = []
    for label, old_schema in pairs:
        old = _parsed(_as_text(old_schema))
        if base in ("BACKWARD", "FULL"):
            messages += _compare(reader=new, writer=old, check="BACKWARD", version=label)
        if base in ("FORWARD", "FULL"):
            messages += _compare(reader=old, writer=new, check="FORWARD", version=label)
    return messages


# avro merges findings into unordered sets and so loses which message belongs to
# which location; each finding is recorded as it is made instead.
_findings: contextvars.ContextVar[list[tuple[str, str, str]] | None] = contextvars.ContextVar("_findings", default=None)
_avro_incompatible = _avro_compat.incompatible


def _recording_incompatible(
    incompat_type: _avro_compat.SchemaIncompatibilityType, message: str, location: list[str]
) -> _avro_compat.SchemaCompatibilityResult:
    result = _avro_incompatible(incompat_type, message, location)
    found = _findings.get()
    if found is not None:
        found.append((incompat_type.value, message, next(iter(result.locations))))
    return result


_avro_compat.incompatible = _recording_incompatible


class _Checker(_avro_compat.ReaderWriterCompatibilityChecker):
    """avro's checker, except that union branches keep their union's path in findings,
    and trying a reader-union branch of another type is not reported as a finding."""

    def __init__(self) -> None:
        super().__init__()
        self._frames: list[tuple[Any, Any, list[str]]] = []

    def get_compatibility(self, reader: Any, writer: Any, reference_token: str = "/", location: Any = None) -> Any:
        if location is not None or not self._frames:
            return super().get_compatibility(reader, writer, reference_token, location)
        outer_reader, outer_writer, here = self._frames[-1]
        found = _findings.get()
        mark = len(found) if found is not None else 0
        result = super().get_compatibility(reader, writer, here[-1], here[:-1])
        probing = outer_reader.type == "union" and outer_writer.type != "union"
        if found is not None and probing and not _same_kind(reader, writer):
            del found[mark:]
        return result

    def calculate_compatibility(self, reader: Any, writer: Any, location: list[str]) -> Any:
        self._frames.append((reader, writer, location))
        try:
            return super().calculate_compatibility(reader, writer, location)
        finally:
            self._frames.pop()


def _same_kind(reader: Any, writer: Any) -> bool:
    if reader.type != writer.type:
        return False
    return not isinstance(reader, avro.schema.NamedSchema) or _avro_compat.schema_name_equals(reader, writer)


def _compare(reader: avro.schema.Schema, writer: avro.schema.Schema, check: str, version: int) -> list[str]:
    found: list[tuple[str, str, str]] = []
    token = _findings.set(found)
    try:
        result = _Checker().get_compatibility(reader, writer)
    finally:
        _findings.reset(token)
    if result.compatibility is not _avro_compat.SchemaCompatibilityType.incompatible:
        return []
    # avro drops what it found while trying union branches and keeps only "union lacking type";
    # keep its verdicts, and add the findings inside the union as the reason.
    real = [f for f in found if f[1] in result.messages and f[2] in result.locations]
    unique = list(dict.fromkeys(real)) or [("incompatible", "; ".join(sorted(result.messages)), "/")]
    words = []
    for kind, message, loc in unique:
        text = _word(check, version, kind, message, loc)
        if kind == "missing_union_branch":
            inside = _inside_union(found, loc)
            if inside:
                text += " (inside: " + "; ".join(_word(check, version, *f, short=True) for f in inside) + ")"
        words.append(text)
    return words


def _inside_union(found: list[tuple[str, str, str]], loc: str) -> list[tuple[str, str, str]]:
    head, _, last = loc.rpartition("/")
    union = head if last.isdigit() else loc
    noise = {union, f"{union}/name"}
    inside = [f for f in found if f[2].startswith(union + "/") and f[2] not in noise and f[0] != "missing_union_branch"]
    return list(dict.fromkeys(inside))


def _word(check: str, version: int, kind: str, message: str, location: str, short: bool = False) -> str:
    if check == "BACKWARD":
        reader, writer = "the new schema", f"version {version}"
        why = f"the new schema cannot read data written with version {version}"
    else:
        reader, writer = f"version {version}", "the new schema"
        why = f"readers using version {version} cannot read data written with the new schema"
    explain = {
        "reader_field_missing_default_value": f"{reader} has field '{message}' that {writer} lacks, and it has no default",
        "type_mismatch": message.replace("reader type", f"type in {reader}").replace("writer type", f"type in {writer}"),
        "missing_enum_symbols": f"{writer} has enum symbols {message} that {reader} lacks, and {reader}'s enum has no default",
        "missing_union_branch": message.replace("reader union", f"union in {reader}").replace("writer type", f"type in {writer}"),
        "name_mismatch": f"named type differs from {writer}'s ({message})",
        "fixed_size_mismatch": f"fixed size differs ({message})",
    }.get(kind, message)
    if short:
        return f"{kind.upper()} at {location}: {explain}"
    return f"{check}: {why}: {kind.upper()} at {location}: {explain}"
