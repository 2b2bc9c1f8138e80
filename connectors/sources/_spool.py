"""A durable on-disk queue (SQLite, WAL, fsync on every commit) between the webhook server and the run loop."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class Spool:
    """Rows are appended by the HTTP thread and read/deleted by the connector loop; each thread has its own connection."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        con = self._con()
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, "
                    "body BLOB NOT NULL, problem TEXT)")

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
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
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

    def delete_through(self, spool_id: int) -> None:
        self._con().execute("DELETE FROM spool WHERE id <= ?", (spool_id,))

    def count(self) -> int:
        return int(self._con().execute("SELECT COUNT(*) FROM spool").fetchone()[0])

    def close(self) -> None:
        con: Any = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
