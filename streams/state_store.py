"""A stage's state rows on local disk, so a worker does not hold every student's state in memory.

The state topic is the durable copy of every row; this is the worker's working copy
of the rows of its assigned partitions, in a SQLite file of its own that is
emptied on each assignment and filled again from the topic (so it never needs to
survive a crash, and SQLite's journal and fsyncs are off).  Reads go through a
small page cache; the live objects a stage keeps for its most recent keys sit in
front of it (an LRU in the stage), so a batch reads each other key once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

__all__ = ["GET_MANY_CHUNK", "StateStore"]

GET_MANY_CHUNK = 500  # keys per statement of get_many (well under SQLite's limit of bound parameters)


class StateStore:
    """Rows ``(partition, key) -> bytes`` in the SQLite file ``path``; ``:memory:`` keeps them in RAM (tests)."""

    def __init__(self, path: Path | str, *, cache_mb: int = 8) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-journal", "-wal", "-shm"):  # a working copy from an earlier run is stale by definition
                Path(self.path + suffix).unlink(missing_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{cache_mb * 1024}", "temp_store=MEMORY"):
            self._db.execute(f"PRAGMA {pragma}")
        # a rowid table: rows of kilobytes make a WITHOUT ROWID b-tree twice as slow to read and write
        self._db.execute("CREATE TABLE IF NOT EXISTS rows (p INTEGER NOT NULL, k BLOB NOT NULL, v BLOB NOT NULL, PRIMARY KEY (p, k))")

    def clear(self) -> None:
        self._db.execute("DELETE FROM rows")

    def get(self, partition: int, key: bytes) -> bytes | None:
        row = self._db.execute("SELECT v FROM rows WHERE p = ? AND k = ?", (partition, key)).fetchone()
        return row[0] if row else None

    def get_many(self, partition: int, keys: Iterable[bytes]) -> dict[bytes, bytes]:
        """The rows of ``keys`` that exist in ``partition`` (a batch's keys in a few statements: one each costs more than its row)."""
        keys = list(keys)
        found: dict[bytes, bytes] = {}
        for i in range(0, len(keys), GET_MANY_CHUNK):
            chunk = keys[i:i + GET_MANY_CHUNK]
            marks = ",".join("?" * len(chunk))
            for k, v in self._db.execute(f"SELECT k, v FROM rows WHERE p = ? AND k IN ({marks})", (partition, *chunk)):
                found[bytes(k)] = v
        return found

    def write(self, rows: Iterable[tuple[int, bytes, bytes | None]]) -> None:
        """Set each ``(partition, key, value)`` in order (the last one of a key wins); a None value deletes the row.  One transaction."""
        last = {(p, k): v for p, k, v in rows}
        deletes = [pk for pk, v in last.items() if v is None]
        puts = [(p, k, v) for (p, k), v in last.items() if v is not None]
        db = self._db
        db.execute("BEGIN")
        try:
            if deletes:
                db.executemany("DELETE FROM rows WHERE p = ? AND k = ?", deletes)
            if puts:
                db.executemany("INSERT INTO rows (p, k, v) VALUES (?, ?, ?) ON CONFLICT (p, k) DO UPDATE SET v = excluded.v", puts)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def prefixed(self, partition: int, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """The ``(key, value)`` rows of ``partition`` whose key starts with ``prefix``, in key order."""
        upper = _after(prefix)
        if upper is None:
            cur = self._db.execute("SELECT k, v FROM rows WHERE p = ? AND k >= ? ORDER BY k", (partition, prefix))
        else:
            cur = self._db.execute("SELECT k, v FROM rows WHERE p = ? AND k >= ? AND k < ? ORDER BY k", (partition, prefix, upper))
        return [(bytes(k), bytes(v)) for k, v in cur]

    def count(self) -> int:
        return self._db.execute("SELECT count(*) FROM rows").fetchone()[0]

    def close(self) -> None:
        self._db.close()
        if self.path != ":memory:":
            Path(self.path).unlink(missing_ok=True)


def _after(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix`` (None: there is none)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
