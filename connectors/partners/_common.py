"""What the partner modules share: record checks, reference lookups, and a source with its reference rows joined.

Private to ``connectors.partners`` (a leading underscore: ``hub connector`` does not
list it). Checks raise ``RecordRejected`` with a reason a registrar can act on.
Lookups run in the source (``Joined``), not in the mapping: a reference list that
cannot be reached raises ``SourceUnavailable`` and the SDK retries from the saved
cursor, where an error inside a mapping would dead-letter the record.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from lxml import etree
from pydantic import BaseModel, BeforeValidator, Field, SecretStr, ValidationError

from connectors.sdk import (
    BadRecord,
    ConnectorSettings,
    Item,
    NativeRecord,
    RecordRejected,
    Skip,
    Source,
    SourceUnavailable,
    canonical_bytes,
    env_prefix,
)
from connectors.sources import FileDropSource, RetryingClient, SqlSource, dig
from schemas.grading import UnknownGrade, UnknownScheme, scheme
from schemas.institutions import SCHAC_CODES

T = TypeVar("T")
_ESI = re.compile(r"^urn:schac:personalUniqueCode:int:esi:([^:]+):(.+)$")


# --- checks every partner makes --------------------------------------------------------

def grade_label(scheme_id: str, printed: str, record: Any) -> str:
    """The label exactly as the SIS printed it, once it is known to be a grade of ``scheme_id``."""
    try:
        scheme(scheme_id).normalise(printed)
    except (UnknownGrade, UnknownScheme) as exc:
        raise RecordRejected(record, str(exc), "unknown_grade") from None
    return printed


def partner_esi(esi: str | None, record: Any) -> str | None:
    """The student's ESI if it is one issued by a HEROES partner (an incoming student's home HEI counts)."""
    if not esi:
        return None
    m = _ESI.match(esi)
    if m is None:
        raise RecordRejected(record, f"{esi!r} is not an ESI (urn:schac:personalUniqueCode:int:esi:<schac>:<code>)",
                             "invalid_record")
    if m.group(1) not in SCHAC_CODES:
        raise RecordRejected(record, f"the student's ESI is issued by {m.group(1)}, not a HEROES partner "
                             f"({', '.join(SCHAC_CODES)})", "unknown_institution")
    return esi


def one_of(table: Mapping[str, T], value: Any, field: str, record: Any, kind: str = "invalid_record") -> T:
    """``table[value]``; a value the table does not know rejects the record, naming the values it knows."""
    if value not in table:
        raise RecordRejected(record, f"{field} {value!r} is none of {', '.join(table)}", kind)
    return table[value]


def listed(row: Any, code: str, where: str, record: Any, kind: str = "unknown_course") -> Any:
    """The reference ``row`` the source joined for ``code``; a record naming what ``where`` lacks is rejected."""
    if row is None:
        raise RecordRejected(record, f"{'course' if kind == 'unknown_course' else 'student'} {code!r} is not in "
                             f"{where}", kind)
    return row


def _edm_datetime(value: object) -> object:
    if isinstance(value, str) and value.startswith("/Date("):
        if not (m := re.fullmatch(r"/Date\((-?\d+)\)/", value)):
            raise ValueError(f"{value!r} is not an Edm.DateTime (/Date(<ms>)/)")
        return datetime.fromtimestamp(int(m[1]) / 1000, tz=UTC)
    return value


EdmDateTime = Annotated[datetime, BeforeValidator(_edm_datetime)]
"""An OData v2 JSON date: ``/Date(<ms since the epoch, UTC>)/``, or ISO 8601."""


def course_and_esi(r: Any, course: M | None, courses: str, person: Any, students: str | None = None
                   ) -> tuple[M, str | None]:
    """The course row the source joined to ``r`` (rejected if ``courses`` lacks ``r.course``) and the ESI of the
    student row joined (``person``); ``students`` names where every student is listed (a student missing there is rejected), else a student
    not listed yet simply has no ESI."""
    if person is None and students is not None:
        listed(None, r.student, students, r, "unknown_student")
    esi = person.get("esi") if isinstance(person, dict) else getattr(person, "esi", None)
    return listed(course, r.course, courses, r), partner_esi(esi, r)


def sql_isced(table: str, code: str, isced: str) -> Callable[[str], dict[str, str]]:
    """``course_isced(url)`` of an SQL partner: its course table read whole."""
    return isced_reader(lambda url: SourceLookup(SqlSource(table, url, table), code), code, isced)


def _german_date(value: object) -> object:
    if not isinstance(value, str):
        return value
    day, month, year = value.split(".")  # 14.07.2025
    return date(int(year), int(month), int(day))


GermanDate = Annotated[date, BeforeValidator(_german_date)]
"""A date as German exports print it: ``14.07.2025``."""


def local_time(fmt: str, zone: str) -> Any:
    """A type for wall-clock times as the SIS prints them (``strptime`` format ``fmt``) in time zone ``zone``."""
    return Annotated[datetime, BeforeValidator(
        lambda v: datetime.strptime(v, fmt).replace(tzinfo=ZoneInfo(zone)) if isinstance(v, str) else v)]


def reference_only(record: Any, settings: Any) -> None:
    """The mapping of a source read only for reference rows (a student list the other sources join)."""
    raise Skip("reference rows (joined to the other sources' records)")


def local_midnight(day: date, zone: str) -> datetime:
    """00:00 local time of ``day`` in UTC: the event time of a result that carries only a date."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def utc(value: datetime) -> datetime:
    """A database timestamp without a zone is UTC (the SIS views store UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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


# --- settings several partners share ------------------------------------------------------

class ApiSettings(ConnectorSettings):
    """A partner's REST API: base URL, bearer token, page size."""

    api_url: str = Field(description="Base URL of the SIS API (HUB_<HEI>_API_URL).")
    token: SecretStr | None = Field(None, description="Bearer token of the hub's API client (HUB_<HEI>_TOKEN).")
    page_size: int = Field(100, ge=1, le=1000)
    poll_interval: float = 30.0


class DropSettings(ConnectorSettings):
    """A partner whose SIS drops export files into a folder."""

    folder: Path = Field(description="Drop folder of the SIS exports (HUB_<HEI>_FOLDER).")
    poll_interval: float = 10.0


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


# --- until every partner module reads through the helpers above (removed then) ----------

M = TypeVar("M", bound=BaseModel)


def read(model: type[M], data: Mapping[str, Any], record: Any = None, **context: Any) -> M:
    """``model`` validated from ``data``; a bad record is rejected with every problem named."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(record)'}: {e['msg']}" for e in exc.errors())
        raise RecordRejected(record or data, f"not a valid {model.__name__}: {problems}", "invalid_record") from None


def unknown_course(code: str, where: str, record: Any) -> RecordRejected:
    return RecordRejected(record, f"course {code!r} is not in {where}", "unknown_course")


class SqlLookup:
    """Rows of a reference table or view by key; a missing key reads the rows added since (``id`` grows)."""

    def __init__(self, url: str | sa.URL, table: str, key: str, id_column: str = "id") -> None:
        self.url, self.table, self.key, self.id_column = url, table, key, id_column
        self._engine: sa.Engine | None = None
        self._last: Any = None
        self._rows: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._rows.get(key)
        if row is None:
            with self._lock:
                self._refresh()
            row = self._rows.get(key)
        return row

    def rows(self) -> dict[str, dict[str, Any]]:
        """Every row, after reading what is new."""
        with self._lock:
            self._refresh()
            return dict(self._rows)

    def _refresh(self) -> None:
        id_column: sa.ColumnClause[Any] = sa.column(self.id_column)  # no reflection: it costs more than the rows (PostgreSQL catalogues)
        query = sa.select(sa.text("*")).select_from(sa.table(self.table)).order_by(id_column)
        if self._last is not None:
            query = query.where(id_column > sa.bindparam("last", self._last))
        try:
            if self._engine is None:
                self._engine = sa.create_engine(self.url, pool_pre_ping=True)
            with self._engine.connect() as con:
                for row in con.execute(query):
                    data = dict(row._mapping)
                    self._rows[str(data[self.key])] = data
                    self._last = data[self.id_column]
        except sa.exc.SQLAlchemyError as exc:
            raise SourceUnavailable(f"cannot read reference table {self.table}: {str(exc).splitlines()[0]}") from exc

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
