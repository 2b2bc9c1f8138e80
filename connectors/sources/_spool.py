"""A durable on-disk queue (SQLite, WAL, fsync on every commit) between the webhook server and the run loop.

Published events stay in the spool for replay (``hub connector replay``) until they are
older than ``keep_published_seconds`` or, newest kept first, exceed ``keep_published_bytes``
in total; only unpublished events count towards the webhook's "spool full".
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL,
                                  body BLOB NOT NULL, problem TEXT);
CREATE TABLE IF NOT EXISTS spool_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
# Older spools lack spool_state: their rows are all unpublished (published ones used to be deleted).

_PRUNE_BY_SIZE = """
DELETE FROM spool WHERE id <= (
    SELECT id FROM (SELECT id, SUM(length(body)) OVER (ORDER BY id DESC) AS newer FROM spool WHERE id <= ?)
    WHERE newer > ? ORDER BY id DESC LIMIT 1)
"""


def _now() -> datetime:
    return datetime.now(UTC)


class Spool:
    """Rows are appended by the HTTP thread and read/marked by the connector loop; each thread has its own connection."""

    def __init__(self, path: Path, *, keep_published_bytes: int = 64 * 1024 * 1024,
                 keep_published_seconds: float = 7 * 24 * 3600.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.keep_bytes = keep_published_bytes
        self.keep_age = timedelta(seconds=keep_published_seconds)
        self._local = threading.local()
        con = self._con()
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(_SCHEMA)

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            con.execute("PRAGMA synchronous=FULL")  # the commit fsyncs: a 202 means the event is on disk
            self._local.con = con
        return con

    def append(self, bodies: list[tuple[bytes, str | None]]) -> list[int]:
        """Store bodies (with a problem text for bad ones) in one fsynced transaction; returns their ids."""
        con = self._con()
        now = _now().isoformat(timespec="milliseconds")
        con.execute("BEGIN IMMEDIATE")
        try:
            ids = [int(con.execute("INSERT INTO spool (received_at, body, problem) VALUES (?, ?, ?)",
                                   (now, body, problem)).lastrowid or 0) for body, problem in bodies]
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return ids

    def after(self, spool_id: int, limit: int = 500) -> list[tuple[int, str, bytes, str | None]]:
        return self._con().execute("SELECT id, received_at, body, problem FROM spool WHERE id > ? ORDER BY id LIMIT ?",
                                   (spool_id, limit)).fetchall()

    def published_through(self) -> int:
        row = self._con().execute("SELECT value FROM spool_state WHERE key = 'published_through'").fetchone()
        return int(row[0]) if row else 0

    def mark_published(self, spool_id: int) -> int:
        """Everything up to ``spool_id`` reached Kafka: keep it for replay, prune what is over the limits.

        Returns how many published events were pruned.
        """
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute("INSERT INTO spool_state VALUES ('published_through', ?) ON CONFLICT(key) "
                        "DO UPDATE SET value = max(value, excluded.value)", (spool_id,))
            through = int(con.execute("SELECT value FROM spool_state WHERE key = 'published_through'").fetchone()[0])
            cutoff = (_now() - self.keep_age).isoformat(timespec="milliseconds")
            pruned = con.execute("DELETE FROM spool WHERE id <= ? AND received_at < ?", (through, cutoff)).rowcount
            pruned += con.execute(_PRUNE_BY_SIZE, (through, self.keep_bytes)).rowcount
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return pruned

    def pending(self) -> int:
        """Events not yet published: what fills the spool while Kafka is away."""
        return int(self._con().execute("SELECT COUNT(*) FROM spool WHERE id > ?", (self.published_through(),)).fetchone()[0])

    def kept(self) -> tuple[int, int, int]:
        """(published events kept for replay, their bytes, the oldest kept id or 0)."""
        count, size, oldest = self._con().execute(
            "SELECT COUNT(*), COALESCE(SUM(length(body)), 0), COALESCE(MIN(id), 0) FROM spool WHERE id <= ?",
            (self.published_through(),)).fetchone()
        return int(count), int(size), int(oldest)

    def oldest(self) -> int:
        row = self._con().execute("SELECT MIN(id) FROM spool").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def count(self) -> int:
        return int(self._con().execute("SELECT COUNT(*) FROM spool").fetchone()[0])

    def close(self) -> None:
        con: Any = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
