"""Reading Ladok 3's Atom feed for the Halmstad connector: entries with their lookups resolved in the source.

Each entry is handed to the mapping as a plain dict with what it names looked up:
the course instance (``Kurstillfalle``: course code, credits, ISCED field, grading
scale), the grading scale (``Betygsskala``: grade ids → labels) and the student's ESI.
Ladok names students by ``StudentUID`` only; their ESI comes with ``LokalStudentEvent``
entries, which this source remembers in a small SQLite file so the ESI is still known
after a restart that resumes past those entries.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from connectors.partners._paged import Enriched, JsonDocument, with_data
from connectors.sdk import BadRecord, Item, NativeRecord
from connectors.sources import AtomEntry, AtomFeedSource

STUDENT_EVENT = "LokalStudentEvent"
_FIELDS = ("StudentUID", "KurstillfalleUID", "Period", "EuropeanStudentIdentifier")
_RESULT_FIELDS = ("BetygsgradID", "BetygsskalaID", "Examinationsdatum", "ResultatUID", "OmfattningsPoang")


class StudentDirectory:
    """StudentUID → ESI, kept in SQLite (one row per student; a later ESI replaces an earlier one)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS students (student_uid TEXT PRIMARY KEY, esi TEXT NOT NULL)")
            self._db.commit()
        return self._db

    def put(self, uid: str, esi: str) -> None:
        if self._cache.get(uid) != esi:
            with self._lock:
                self.db.execute("INSERT OR REPLACE INTO students VALUES (?, ?)", (uid, esi))
                self.db.commit()
            self._cache[uid] = esi

    def get(self, uid: str | None) -> str | None:
        if not uid:
            return None
        if uid not in self._cache:
            with self._lock:
                row = self.db.execute("SELECT esi FROM students WHERE student_uid = ?", (uid,)).fetchone()
            if row is None:
                return None
            self._cache[uid] = row[0]
        return self._cache[uid]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class Lookups:
    """The grading scales and course instances, fetched once and again (at most every ``min_age`` s) on a miss."""

    def __init__(self, scales_url: str, courses_url: str, *, cert: Any, min_age: float,
                 credentials_setting: str) -> None:
        args = {"cert": cert, "min_age": min_age, "credentials_setting": credentials_setting}
        self._scales = JsonDocument(scales_url, **args)
        self._courses = JsonDocument(courses_url, **args)
        self._rows: Any = None
        self._by_uid: dict[str, dict[str, Any]] = {}

    def scale(self, scale_id: str | None) -> dict[str, Any] | None:
        if scale_id is None:
            return None
        found = self._scales.get().get(scale_id)
        return found if found is not None else self._scales.get(refresh=True).get(scale_id)

    def course(self, uid: str | None) -> dict[str, Any] | None:
        if uid is None:
            return None
        if uid not in self._by_uid:
            rows = self._courses.get(refresh=self._rows is not None)
            if rows is not self._rows:
                self._rows = rows
                self._by_uid = {str(r.get("Uid")): r for r in rows if isinstance(r, dict)}
        return self._by_uid.get(uid)

    def courses(self) -> list[dict[str, Any]]:
        """Every course instance (fetched if not yet)."""
        self.course("")
        return list(self._by_uid.values())

    def close(self) -> None:
        self._scales.close()
        self._courses.close()


def ladok_feed(feed: AtomFeedSource, lookups: Lookups, students: StudentDirectory) -> Enriched:
    """The feed's entries as dicts for the mapping; an entry whose content is not XML is a bad record."""

    def resolve(item: NativeRecord) -> Item:
        entry: AtomEntry = item.data
        if entry.content is None:
            return BadRecord(item.payload, f"{item.location}: entry {entry.id} has no Ladok XML content "
                             f"({entry.content_type or 'no type'}; text instead of an element)", item.location,
                             item.cursor, "parse", item.identity)
        fields = {name: entry.text(name) for name in _FIELDS}
        if entry.event_type == STUDENT_EVENT and fields["StudentUID"] and fields["EuropeanStudentIdentifier"]:
            students.put(fields["StudentUID"], fields["EuropeanStudentIdentifier"])
        result = {name: entry.text(f"Resultat/{name}") for name in _RESULT_FIELDS}
        has_result = any(v is not None for v in result.values())
        return with_data(item, {
            "event": entry.event_type, "entry_id": entry.id, "updated": entry.updated,
            "handelsetyp": entry.text("Handelsetyp"), **fields,
            "esi": students.get(fields["StudentUID"]), "resultat": result if has_result else None,
            "course": lookups.course(fields["KurstillfalleUID"]),
            "scale": lookups.scale(result["BetygsskalaID"]) if has_result else None,
        })

    return Enriched(feed, resolve, closers=(lookups.close, students.close))
