"""Cursors and counters of one connector, in one SQLite file under the data dir.

A cursor and the counters that led to it are written in one transaction, so
``hub connector status`` (another process) always sees a consistent picture.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (source TEXT PRIMARY KEY, value TEXT, saved_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS notes (key TEXT PRIMARY KEY, value TEXT NOT NULL, at TEXT NOT NULL);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class CursorStore:
    """Saved cursors per source plus running counters (published per topic, rejected per reason)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def load(self, source: str) -> Any:
        row = self._db.execute("SELECT value FROM cursors WHERE source = ?", (source,)).fetchone()
        return json.loads(row[0]) if row and row[0] is not None else None

    def save(self, source: str, cursor: Any, counters: Mapping[str, int] | None = None) -> None:
        """Save a cursor and add ``counters`` (deltas) atomically."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO cursors VALUES (?, ?, ?) ON CONFLICT(source) DO UPDATE SET value=excluded.value, saved_at=excluded.saved_at",
                    (source, json.dumps(cursor, sort_keys=True), _now()),
                )
                for name, delta in (counters or {}).items():
                    self._db.execute(
                        "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                        (name, delta),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def reset(self, source: str, cursor: Any = None) -> None:
        self.save(source, cursor)

    def note(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO notes VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value, at=excluded.at",
                (key, value, _now()),
            )

    def status(self) -> dict[str, Any]:
        cursors = {s: {"cursor": json.loads(v) if v else None, "saved_at": at}
                   for s, v, at in self._db.execute("SELECT source, value, saved_at FROM cursors ORDER BY source")}
        counters = dict(self._db.execute("SELECT name, value FROM counters ORDER BY name").fetchall())
        notes = {k: {"value": v, "at": at} for k, v, at in self._db.execute("SELECT key, value, at FROM notes")}
        published = {n.split(":", 1)[1]: v for n, v in counters.items() if n.startswith("published:")}
        rejected = {n.split(":", 1)[1]: v for n, v in counters.items() if n.startswith("rejected:")}
        skipped = {n.split(":", 1)[1]: v for n, v in counters.items() if n.startswith("skipped:")}
        return {"cursors": cursors, "published": published, "rejected": rejected, "skipped": skipped,
                "last_error": notes.get("last_error"), "last_run": notes.get("last_run")}

    def close(self) -> None:
        self._db.close()
