"""The hub's Avro schemas as files: ``schemas/avro/<Record>.avsc`` (package data).

The ``.avsc`` files are the contract between connectors and streams; this module
only reads them. Released versions kept for the compatibility check live in
``schemas/avro/history/<Record>/<n>.avsc``.

    >>> load_schema("Grade")["name"]
    'Grade'
    >>> schema_for_topic("hub.grades")["name"]
    'Grade'
"""

from __future__ import annotations

import copy
import json
from functools import cache, lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import fastavro

from schemas.catalogue import BY_NAME

__all__ = [
    "UnknownRecord",
    "load_schema",
    "parsed_schema",
    "record_names",
    "released_versions",
    "schema_for_topic",
    "schema_text",
]


class UnknownRecord(LookupError):
    """No ``.avsc`` file for this record name (or topic); the message lists the known ones."""


def _avro_dir() -> Traversable:
    return resources.files("schemas").joinpath("avro")


@lru_cache(maxsize=1)
def record_names() -> tuple[str, ...]:
    """Names of every record with a ``.avsc`` file, sorted."""
    return tuple(sorted(p.name[: -len(".avsc")] for p in _avro_dir().iterdir() if p.name.endswith(".avsc")))


@cache
def _raw(record_name: str) -> dict[str, Any]:
    if record_name not in record_names():
        raise UnknownRecord(f"no schemas/avro/{record_name}.avsc; known records: {', '.join(record_names())}")
    with _avro_dir().joinpath(f"{record_name}.avsc").open("r", encoding="utf-8") as fh:
        return json.load(fh)


def load_schema(record_name: str) -> dict[str, Any]:
    """The raw JSON of ``schemas/avro/<record_name>.avsc`` (a fresh copy the caller may change)."""
    return copy.deepcopy(_raw(record_name))


@cache
def schema_text(record_name: str) -> str:
    """The schema as compact JSON text, the form sent to the registry."""
    return json.dumps(_raw(record_name), separators=(",", ":"), ensure_ascii=False)


@cache
def parsed_schema(record_name: str) -> Any:
    """The fastavro-parsed schema (parsed once per process; treat it as read-only)."""
    return fastavro.parse_schema(load_schema(record_name))


def schema_for_topic(topic_name: str) -> dict[str, Any]:
    """The raw value schema of a catalogue topic."""
    try:
        entry = BY_NAME[topic_name]
    except KeyError:
        raise UnknownRecord(
            f"{topic_name!r} is not in the topic catalogue (sis.<hei>.*, hub.*, registrar.<hei>.decisions)"
        ) from None
    return load_schema(entry.value_schema)


def released_versions(record_name: str) -> list[tuple[int, dict[str, Any]]]:
    """Earlier released versions kept in ``history/<record_name>/<n>.avsc``, oldest first."""
    folder = _avro_dir().joinpath("history", record_name)
    if not folder.is_dir():
        return []
    versions = []
    for entry in folder.iterdir():
        stem = entry.name[: -len(".avsc")]
        if entry.name.endswith(".avsc") and stem.isdigit():
            with entry.open("r", encoding="utf-8") as fh:
                versions.append((int(stem), json.load(fh)))
    return sorted(versions, key=lambda v: v[0])
