"""The base class of every source kind: read native records from a cursor on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from connectors.sdk._records import Item


class Source:
    """A place native records come from. The SDK owns the loop; a source only reads.

    ``read(cursor)`` yields items in order, each with the cursor valid *after* it,
    and returns when it has caught up (the SDK sleeps ``poll_interval`` and calls
    it again with the last saved cursor). It raises ``SourceUnavailable`` to be
    retried later and ``StopConnector`` when a person must fix something.
    ``committed(cursor)`` is called once that cursor is saved: the moment to move
    a file to ``done/`` or delete spooled events.

    A minimal source over a list (the kinds in ``connectors.sources`` are real ones)::

        from connectors.sdk import NativeRecord, Source, canonical_bytes

        class ListSource(Source):
            def __init__(self, name, rows):
                super().__init__(name)
                self.rows = rows

            def read(self, cursor):
                start = cursor or 0
                for i, row in enumerate(self.rows[start:], start=start):
                    yield NativeRecord(data=row, payload=canonical_bytes(row), identity=str(row["id"]),
                                       location=f"row {i}", cursor=i + 1)
    """

    kind: ClassVar[str] = "custom"
    poll_interval: float = 5.0

    def __init__(self, name: str, *, poll_interval: float | None = None) -> None:
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"source name {name!r} must be a short word like 'grades' (letters, digits, - and _)")
        self.name = name
        if poll_interval is not None:
            self.poll_interval = poll_interval

    def open(self) -> None:
        """Acquire resources (connections, servers). Called once before the first ``read``."""

    def close(self) -> None:
        """Release what ``open`` acquired. Called once at shutdown, also after errors."""

    def read(self, cursor: Any) -> Iterator[Item]:
        raise NotImplementedError(f"{type(self).__name__} must implement read(cursor)")

    def committed(self, cursor: Any) -> None:
        """Everything up to ``cursor`` is acknowledged by Kafka and the cursor is saved."""

    def rewind(self) -> None:
        """Make already processed input readable again (``hub connector replay --from beginning``)."""

    def check(self) -> str:
        """Prove the source is reachable without reading records; return what was checked."""
        return "no connectivity check for this source kind"

    def describe(self) -> str:
        return f"{self.kind} source {self.name!r}"
