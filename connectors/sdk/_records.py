"""What a source yields: native records (to map), bad records (to dead-letter) and checkpoints.

Every item carries the cursor that is valid *after* it: resuming from that cursor
never skips anything behind it (``None`` leaves the cursor where it was). The SDK saves a cursor only once Kafka has
acknowledged every record before it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo

Cursor = Any  # JSON-able value, or a zero-argument callable evaluated when it is saved


@dataclass(frozen=True)
class NativeRecord:
    """One record as the SIS gave it.

    - ``data``: the parsed form handed to the mapping (dict, lxml element, dataclass);
    - ``payload``: the original bytes, kept for dead letters and the event id;
    - ``identity``: the SIS's own key for the record (row id, entry id, result id);
    - ``location``: where it came from, for people (``grades.csv row 12``, ``GET /results?page=3``);
    - ``cursor``: where to resume after this record.
    """

    data: Any
    payload: bytes
    identity: str
    location: str
    cursor: Cursor = None
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BadRecord:
    """Input that could not even be parsed; it becomes a dead letter with ``reason``."""

    payload: bytes
    reason: str
    location: str
    cursor: Cursor = None
    error_kind: str = "parse"
    identity: str = ""


@dataclass(frozen=True)
class Checkpoint:
    """No record, only a new resume point (a file finished, a page passed); the SDK saves it at once."""

    cursor: Cursor
    location: str = ""


Item = NativeRecord | BadRecord | Checkpoint


def resolve_cursor(cursor: Cursor) -> Any:
    return cursor() if callable(cursor) else cursor


def canonical_bytes(data: Any) -> bytes:
    """Stable bytes for a JSON-like value (sorted keys): the payload of rows and JSON objects."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


# --- a decimal that understands the source's separator -------------------------

def _local_decimal(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, str):
        return value
    sep = (info.context or {}).get("decimal_separator", ".")
    text = value.strip().replace("\u00a0", "").replace(" ", "")
    if sep == ",":
        text = text.replace(".", "").replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number (decimal separator {sep!r})") from None


LocalDecimal = Annotated[Decimal, BeforeValidator(_local_decimal)]
"""A ``Decimal`` field of a native record model that reads ``7,5`` when the source declares a decimal comma."""

