"""The canonical JSON form of hub events: what ``hub decide`` reads and every CLI prints.

One event is one JSON object on one line:

- every field of the event's Avro record, in schema order, ``null`` included;
- ``event_type`` names the record (``Grade``, ``Mobility``, ``RecognitionDecision``, ...),
  so a line says what it is;
- ECTS as JSON numbers (``7.5``), exact to 0.01;
- timestamps as ISO 8601 UTC with milliseconds (``2025-06-30T12:00:00.000Z``), dates as
  ``YYYY-MM-DD``; enums as their symbol (``FINAL``);
- bytes (the payload of a dead letter) as URL-safe base64 (RFC 4648 §5).

It round-trips with the Avro form: ``from_json(to_json(e)) == e`` and
``from_avro(name, to_avro(e)) == e``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from schemas.models import EVENT_MODELS, Event


class CanonicalJsonError(ValueError):
    """A line that is not an event in canonical JSON form; the message says what to fix."""


def to_json(event: Event) -> str:
    """One compact line of canonical JSON."""
    return event.model_dump_json()


def from_json(text: str | bytes) -> Event:
    """Parse one canonical JSON object into its typed event."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CanonicalJsonError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CanonicalJsonError("expected a JSON object with an event_type")
    kind = data.get("event_type")
    model = EVENT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise CanonicalJsonError(f"event_type {kind!r} is not one of {', '.join(EVENT_MODELS)}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise CanonicalJsonError(f"invalid {kind}: {problems}") from exc


@dataclass(frozen=True)
class BadLine:
    """A line of a JSON-lines file that could not be read as an event."""

    line_no: int
    error: str
    text: str


def read_jsonl(source: str | Path | IO[str]) -> Iterator[Event | BadLine]:
    """Events of a JSON-lines file in order; bad lines come back as BadLine with their number."""
    handle = open(source, encoding="utf-8", errors="replace") if isinstance(source, (str, Path)) else source
    try:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield from_json(line)
            except CanonicalJsonError as exc:
                yield BadLine(number, str(exc), line.rstrip("\n"))
    finally:
        if isinstance(source, (str, Path)):
            handle.close()


def write_jsonl(events: Iterable[Event], out: IO[str]) -> int:
    """Write events one per line; returns how many."""
    count = 0
    for event in events:
        out.write(to_json(event) + "\n")
        count += 1
    return count
