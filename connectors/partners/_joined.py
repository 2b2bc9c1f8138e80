"""Sources with their reference rows joined: lookups (reference files, lists read through a source, JSON
documents, values remembered from earlier records), the ``Joined`` wrapper, rows decoded one by one, SQL tables.

Private to ``connectors.partners``; partner modules import it through ``_common``. Lookups run in the
source, not in the mapping: a reference list that cannot be reached raises ``SourceUnavailable`` and the
SDK retries from the saved cursor, where an error inside a mapping would dead-letter the record.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from lxml import etree
from pydantic import Field, SecretStr

from connectors.sdk import (
    BadRecord,
    ConnectorSettings,
    Item,
    NativeRecord,
    Source,
    SourceUnavailable,
    canonical_bytes,
    env_prefix,
)
from connectors.sources import FileDropSource, RetryingClient, SqlSource, dig


# --- reference data, read again when a key is missing -----------------------------------

class Lookup(Protocol):
    def get(self, key: str) -> Any: ...


class _Cached:
    """Rows by key, refreshed (under a lock) when a key is missing; ``rows()`` refreshes and returns them all."""

    def __init__(self) -> None:
        self._rows: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        if key not in self._rows:
            with self._lock:
                self._refresh()
        return self._rows.get(key)

    def rows(self) -> dict[str, Any]:
        with self._lock:
            self._refresh()
            return dict(self._rows)

    def _refresh(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def all_rows(lookup: _Cached) -> dict[str, Any]:
    """Every row of a lookup, which is closed then (a catalogue read once)."""
    try:
        return lookup.rows()
    finally:
        lookup.close()


def isced_reader(lookup: Callable[[str], _Cached], code: str, isced: str) -> Callable[[str], dict[str, str]]:
    """A partner module's ``course_isced(location)``: course code -> ISCED-F field of every row of its course
    lookup at ``location`` (the EWP connector puts the fields on Table B components)."""
    return lambda location: {str(dig(r, code)): str(dig(r, isced))
                             for r in all_rows(lookup(location)).values() if dig(r, isced)}


class FileLookup(_Cached):
    """Rows by key from reference files; a missing key re-reads the files that are new or changed.

    ``load(path)`` yields ``(key, row)`` pairs of one file; ``paths()`` names the files now present.
    A ``required`` file that is missing stops reading (retried), so records are not rejected for want of it.
    """

    def __init__(self, paths: Callable[[], Iterable[Path]], load: Callable[[Path], Iterable[tuple[str, Any]]],
                 required: Iterable[Path] = ()) -> None:
        super().__init__()
        self._paths, self._load, self._required = paths, load, tuple(required)
        self._seen: dict[Path, tuple[int, int]] = {}

    def _refresh(self) -> None:
        for path in self._required:
            if not path.is_file():
                raise SourceUnavailable(f"reference file {path} is missing; put it there or fix the setting naming it")
        for path in sorted(self._paths()):
            try:
                st = path.stat()
            except OSError:  # moved to done/ between listing and reading: found there next time
                continue
            if self._seen.get(path) != (st.st_size, st.st_mtime_ns):
                self._rows.update(self._load(path))
                self._seen[path] = (st.st_size, st.st_mtime_ns)


def json_rows(path: Path, key: str) -> list[tuple[str, dict[str, Any]]]:
    """A ``FileLookup`` loader: the objects of a JSON list file, by their field ``key``."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [(str(r[key]), r) for r in rows if isinstance(r, dict) and r.get(key) is not None]


def csv_rows(path: Path, key: str, encoding: str, delimiter: str = ";") -> list[tuple[str, dict[str, str]]]:
    """A ``FileLookup`` loader: the rows of a CSV file, by their column ``key``."""
    text = path.read_bytes().decode(encoding, "replace")
    return [(row[key], row) for row in csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter) if row.get(key)]


def xml_elements(path: Path, tag: str, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A ``FileLookup`` loader: the attributes of every ``tag`` element, by attribute ``key``; none if it does
    not parse (a broken export is dead-lettered by its own source)."""
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except (etree.XMLSyntaxError, OSError):
        return
    for el in root.iter(f"{{*}}{tag}"):
        if el.get(key):
            yield el.get(key), dict(el.attrib)


class SourceLookup(_Cached):
    """Rows of a reference list read through a source (an append-only HTTP list, an SQL table polled by id)
    by the field ``key``; a missing key reads on from where the last read stopped (a later row wins)."""

    def __init__(self, source: Source, key: str) -> None:
        super().__init__()
        self.source, self.key, self._cursor = source, key, None

    def _refresh(self) -> None:
        for item in self.source.read(self._cursor):
            if isinstance(item, NativeRecord) and dig(item.data, self.key) is not None:
                self._rows[str(dig(item.data, self.key))] = item.data
            self._cursor = item.cursor if item.cursor is not None else self._cursor

    def close(self) -> None:
        self.source.close()


class JsonLookup(_Cached):
    """A JSON document of reference rows (a list with a ``key`` field, or an object by key), fetched
    again on a missing key at most every ``min_age`` seconds."""

    def __init__(self, url: str, key: str | None = None, min_age: float = 0.0, **client: Any) -> None:
        super().__init__()
        self.url, self.key, self.min_age, self._client_args = url, key, min_age, client
        self._client: RetryingClient | None = None
        self._fetched = float("-inf")

    def _refresh(self) -> None:
        if time.monotonic() - self._fetched < self.min_age:
            return
        if self._client is None:
            self._client = RetryingClient(headers={"Accept": "application/json"}, **self._client_args)
        resp = self._client.get(self.url)
        try:
            doc = resp.json()
        except ValueError as exc:
            raise SourceUnavailable(f"GET {self.url}: not JSON ({exc})") from None
        rows = doc.items() if isinstance(doc, dict) else ((dig(r, self.key or ""), r) for r in doc)
        self._rows = {str(k): r for k, r in rows if k is not None}
        self._fetched = time.monotonic()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class Remembered:
    """Values learned from earlier records (a student's ESI from a student event), kept in SQLite so a
    restart that resumes past those records still knows them; a later value replaces an earlier one."""

    def __init__(self, path: Path) -> None:
        self.path, self._lock = path, threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._cache: dict[str, str] = {}

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS kept (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        return self._db

    def learn(self, key: str, value: str) -> Callable[[NativeRecord], NativeRecord]:
        """A ``Joined`` transform remembering field ``value`` under field ``key`` of every record carrying both."""
        def remember(item: NativeRecord) -> NativeRecord:
            if item.data.get(key) and item.data.get(value):
                self.put(str(item.data[key]), str(item.data[value]))
            return item
        return remember

    def put(self, key: str, value: str) -> None:
        if self._cache.get(key) != value:
            with self._lock, self._connect() as db:
                db.execute("INSERT OR REPLACE INTO kept VALUES (?, ?)", (key, value))
            self._cache[key] = value

    def get(self, key: str) -> str | None:
        if key not in self._cache:
            with self._lock:
                row = self._connect().execute("SELECT value FROM kept WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            self._cache[key] = row[0]
        return self._cache[key]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


# --- a source with its reference rows joined, and ids that survive a redelivery ----------

Ref = tuple[str | Callable[[dict[str, Any]], Any], Lookup]  # the record's field (a dotted path) or a function


class Joined(Source):
    """Wraps a source: each record is first ``transform``-ed (may return a ``BadRecord``), then gets its
    reference rows, and optionally a natural identity.

    ``refs = {"_course": ("elementkode", courses)}`` adds the course row (or ``None``)
    under ``_course`` before the mapping runs. The SDK derives an event id from a record's identity
    and bytes; some SIS redeliver a record with bytes that differ only in delivery details (a new
    surrogate row id, a new ``sent_at``). With ``identity`` the record is named by ``identity(data)``
    and its payload is the record without ``delivery_fields``, so a redelivery keeps its event id.
    """

    def __init__(self, inner: Source, *, refs: Mapping[str, Ref] | None = None,
                 identity: Callable[[dict[str, Any]], str] | None = None, delivery_fields: tuple[str, ...] = (),
                 transform: Callable[[NativeRecord], Item] | None = None,
                 closers: tuple[Callable[[], None], ...] = ()) -> None:
        super().__init__(inner.name, poll_interval=inner.poll_interval)
        self.inner, self.refs, self.transform = inner, dict(refs or {}), transform
        self._identity, self._drop, self._closers = identity, frozenset(delivery_fields), closers
        self.kind = inner.kind  # type: ignore[misc]

    def read(self, cursor: Any) -> Iterator[Item]:
        for item in self.inner.read(cursor):
            if isinstance(item, NativeRecord) and self.transform is not None:
                item = self.transform(item)
            if isinstance(item, NativeRecord) and isinstance(item.data, dict):
                item = self._join(item)
            yield item

    def _join(self, item: NativeRecord) -> NativeRecord:
        data: dict[str, Any] = item.data
        identity, payload = item.identity, item.payload
        if self._identity is not None:
            identity = _or_none(self._identity, data) or identity  # a record without its key: the mapping rejects it
            payload = canonical_bytes({k: v for k, v in data.items() if k not in self._drop})
        joined = dict(data)
        for name, (key, lookup) in self.refs.items():
            value = dig(data, key) if isinstance(key, str) else _or_none(key, data)
            joined[name] = lookup.get(str(value)) if value not in (None, "") else None
        return replace(item, data=joined, identity=identity, payload=payload)

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()
        for close in (*(getattr(lookup, "close", None) for _, lookup in self.refs.values()), *self._closers):
            if close is not None:
                close()

    def committed(self, cursor: Any) -> None:
        self.inner.committed(cursor)

    def rewind(self) -> None:
        self.inner.rewind()

    def check(self) -> str:
        return self.inner.check()

    def describe(self) -> str:
        return self.inner.describe()

    def __getattr__(self, name: str) -> Any:
        """What the wrapped source exposes (a webhook's ``url`` once it listens, a folder, ...)."""
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def with_data(item: NativeRecord, data: Any) -> NativeRecord:
    return replace(item, data=data)


def csv_drop(name: str, folder: Path, pattern: str, identity: tuple[str, ...], encoding: str, *,
             refs: Mapping[str, Ref] | None = None, **options: Any) -> Joined:
    """A drop folder of CSV exports whose rows are decoded one by one (``decode_rows``), with ``refs`` joined."""
    return Joined(FileDropSource(name, folder, pattern=pattern, identity=identity, encoding="latin-1", **options),
                  transform=decode_rows(encoding), refs=refs)


def decode_rows(encoding: str) -> Callable[[NativeRecord], Item]:
    """A ``Joined`` transform for rows read as latin-1 (one character a byte): each row decoded as ``encoding``
    on its own, so a row written in another code page is one dead letter, not a lost file."""

    def decode(item: NativeRecord) -> Item:
        row: dict[str, Any] = {}
        for key, value in item.data.items():
            try:
                row[_decoded(key, encoding)] = _decoded(value, encoding)
            except UnicodeDecodeError as exc:
                return BadRecord(item.payload, f"{key}: {value!r} is not {encoding} text (byte 0x"
                                 f"{exc.object[exc.start]:02x}); the row was written in another code page",
                                 item.location, item.cursor, "encoding", item.identity)
        return with_data(item, row)
    return decode


def _decoded(value: Any, encoding: str) -> Any:
    return value.encode("latin-1").decode(encoding) if isinstance(value, str) else value


def _or_none(fn: Callable[[dict[str, Any]], Any], data: dict[str, Any]) -> Any:
    try:
        return fn(data)
    except (KeyError, TypeError, AttributeError, ValueError):
        return None


# --- the SQL partners: tables polled by id, joined with their reference tables ------------

class SqlSettings(ConnectorSettings):
    """Where an SQL partner's tables are (SQLite by default; PostgreSQL or MariaDB by URL)."""

    url: str = Field(description="SQLAlchemy URL of the SIS database (HUB_<HEI>_URL).")
    password: SecretStr | None = Field(None, description="Database password, kept out of the URL (HUB_<HEI>_PASSWORD).")
    poll_interval: float = 5.0
    batch_size: int = 500


def sql_tables(s: SqlSettings, hei: str, tables: Mapping[str, tuple[str, str]],
               refs: Mapping[str, tuple[str, str]]) -> list[Joined]:
    """A source a table (``{source: (table, record key)}``) polled by its growing ``id``, each row joined with
    reference rows (``{name: (table, column)}``, on the row's column of that name); a repeated row (a new
    ``id``, the same record key) keeps its event id."""
    def table(source: str, name: str) -> SqlSource:
        return SqlSource(source, s.url, name, password=s.password, credentials_setting=f"{env_prefix(hei)}PASSWORD",
                         batch_size=s.batch_size, poll_interval=s.poll_interval)

    lookups: dict[str, Ref] = {ref: (_column(column), SourceLookup(table(ref, name), column))
                               for ref, (name, column) in refs.items()}
    return [Joined(table(source, name), refs=lookups, identity=_column(key), delivery_fields=("id",))
            for source, (name, key) in tables.items()]


def _column(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: str(row[name])


def sql_isced(table: str, code: str, isced: str) -> Callable[[str], dict[str, str]]:
    """``course_isced(url)`` of an SQL partner: its course table read whole."""
    return isced_reader(lambda url: SourceLookup(SqlSource(table, url, table), code), code, isced)
