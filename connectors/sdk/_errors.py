"""Errors a connector raises, each named for what happens next.

::

    ConnectorError
     ├── ConfigError        bad settings: every problem listed, the command exits with code 2
     ├── StopConnector      the source refused us for good (401, 404, ...): stop, say what to fix
     ├── SourceUnavailable  the source (or a service a mapping needs) is down or slow: back off, re-read from the cursor
     ├── PublishFailed      Kafka did not acknowledge a batch: keep the cursor, back off, re-read
     ├── Skip               this native record is not for the hub: count it and go on
     └── RecordRejected     this native record is bad: dead-letter it with the reason and go on
"""

from __future__ import annotations

from typing import Any


class ConnectorError(Exception):
    """Base of every error the connector SDK raises."""


class ConfigError(ConnectorError):
    """Settings are invalid; ``problems`` lists every one of them, each naming what to set."""

    exit_code = 2

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in self.problems))


class StopConnector(ConnectorError):
    """A permanent refusal (bad credentials, wrong URL): retrying cannot help, a person must fix it."""

    exit_code = 1


class SourceUnavailable(ConnectorError):
    """The source cannot be read right now; the SDK backs off (``retry_after`` seconds if the source said so).

    Raised by a mapping (a lookup endpoint is down), it is not the record's fault: the batch is dropped
    unsent, its cursor stays, and it is read and mapped again after the back-off; nothing is dead-lettered.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PublishFailed(ConnectorError):
    """Kafka did not acknowledge every record of a batch; the cursor stays where it was."""


class Skip(ConnectorError):
    """Raised by a mapping for a native record the hub does not need (counted per reason, not dead-lettered)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RecordRejected(ConnectorError):
    """Raised by a mapping for a bad native record: it becomes a dead letter on ``hub.dlq`` with ``reason``.

    ``kind`` is a short stable token counted in metrics (``unknown_grade``, ``missing_field``).
    """

    def __init__(self, record: Any, reason: str, kind: str = "rejected") -> None:
        super().__init__(reason)
        self.record = record
        self.reason = reason
        self.kind = kind
