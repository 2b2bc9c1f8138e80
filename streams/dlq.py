"""Dead letters: every input a stream processor could not handle, with its bytes and the reason.

An agent never lets an exception escape (faust would ack the event and forget
it): it catches per event, builds a :class:`~schemas.models.DeadLetter` with
:func:`dead_letter` and sends it to ``hub.dlq`` keyed by the source topic.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from schemas.models import DeadLetter
from schemas.serde import DecodeError, EncodeError

from streams.codec import InvalidEvent

__all__ = ["Rejected", "dead_letter", "classify"]

_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://heroes-hub.eu/streams/dead-letters")


class Rejected(Exception):
    """An event the hub refuses (wrong partner, unknown label, unknown student): dead-letter it with ``kind``."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def classify(exc: BaseException) -> tuple[str, str]:
    """(error_kind, reason) for a dead letter."""
    if isinstance(exc, Rejected):
        return exc.kind, exc.reason
    if isinstance(exc, DecodeError):
        return "undecodable", f"{exc.reason}: the producer must write Confluent-framed Avro registered for this topic"
    if isinstance(exc, InvalidEvent):
        return "invalid-event", str(exc)
    if isinstance(exc, EncodeError):
        return "unencodable", str(exc)
    return "internal-error", f"{type(exc).__name__}: {exc}"


def dead_letter(
    exc: BaseException, *, component: str, payload: bytes | None, topic: str, partition: int | None,
    offset: int | None, source_hei: str = "hub", trace_id: str = "", occurred_at: datetime | None = None,
) -> DeadLetter:
    """The dead letter of one failed input; its id is derived from where the input was, so a replay repeats it."""
    kind, reason = classify(exc)
    key = f"{component}|{topic}|{partition}|{offset}|{kind}"
    return DeadLetter(
        event_id=str(uuid.uuid5(_NS, key)),
        source_hei=source_hei,
        occurred_at=occurred_at or datetime.now(timezone.utc),
        trace_id=trace_id,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        component=component,
        error_kind=kind,
        reason=reason,
        payload=bytes(payload or b""),
    )
