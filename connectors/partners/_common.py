"""What several partner modules share: reference lookups, label and ESI checks, ids stable across redeliveries.

Private to ``connectors.partners`` (a leading underscore: ``hub connector`` does not
list it). Everything here raises ``RecordRejected`` with a reason a registrar can act on.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from connectors.sdk import (
    Item,
    NativeRecord,
    RecordRejected,
    Source,
    SourceUnavailable,
    canonical_bytes,
)
from schemas.grading import UnknownGrade, UnknownScheme, scheme
from schemas.institutions import SCHAC_CODES

M = TypeVar("M", bound=BaseModel)
_ESI = re.compile(r"^urn:schac:personalUniqueCode:int:esi:([^:]+):(.+)$")


# --- checks every partner makes --------------------------------------------------------

def read(model: type[M], data: Mapping[str, Any], record: Any = None, **context: Any) -> M:
    """``model`` validated from ``data``; a bad record is rejected with every problem named."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(record)'}: {e['msg']}" for e in exc.errors())
        raise RecordRejected(record or data, f"not a valid {model.__name__}: {problems}", "invalid_record") from None


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


def unknown_course(code: str, where: str, record: Any) -> RecordRejected:
    return RecordRejected(record, f"course {code!r} is not in {where}", "unknown_course")


def local_midnight(day: date, zone: str) -> datetime:
    """00:00 local time of ``day`` in UTC: the event time of a result that carries only a date."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def utc(value: datetime) -> datetime:
    """A database timestamp without a zone is UTC (the SIS views store UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- reference data, read again when a key is missing -----------------------------------

class Lookup(Protocol):
    def get(self, key: str) -> Any: ...


class FileLookup:
    """Rows by key from reference files (a catalogue, student lists); files are read again when they change.

    ``load(path)`` yields ``(key, row)`` pairs of one file; ``paths()`` names the files now present.
    A missing key re-reads only the files that are new or changed since the last look. A ``required``
    file that is missing stops reading (retried), so records are not rejected for want of a catalogue.
    """

    def __init__(self, paths: Callable[[], Iterable[Path]], load: Callable[[Path], Iterable[tuple[str, Any]]],
                 required: Iterable[Path] = ()) -> None:
        self._paths, self._load, self._required = paths, load, tuple(required)
        self._seen: dict[Path, tuple[int, int]] = {}
        self._rows: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        row = self._rows.get(key)
        if row is None:
            with self._lock:
                self._refresh()
            row = self._rows.get(key)
        return row

    def rows(self) -> dict[str, Any]:
        """Every row, after reading what is new."""
        with self._lock:
            self._refresh()
            return dict(self._rows)

    def _refresh(self) -> None:
        for path in self._required:
            if not path.is_file():
                raise SourceUnavailable(f"reference file {path} is missing; put it there or fix the setting naming it")
        for path in sorted(self._paths()):
            try:
                st = path.stat()
            except OSError:  # moved to done/ between listing and reading: found there next time
                continue
            stamp = (st.st_size, st.st_mtime_ns)
            if self._seen.get(path) != stamp:
                self._rows.update(self._load(path))
                self._seen[path] = stamp


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


# --- a source with its reference rows joined, and ids that survive a redelivery ----------

Ref = tuple[Callable[[dict[str, Any]], Any], Lookup]


class Joined(Source):
    """Wraps a source: each record gets its reference rows, and optionally a natural identity.

    ``refs = {"_course": (lambda r: r["elementkode"], courses)}`` adds the course row (or
    ``None``) under ``_course`` before the mapping runs. Lookups run here, in the source, so
    a reference database that cannot be reached is retried from the saved cursor instead of
    dead-lettering the records.

    The SDK derives an event id from a record's identity and bytes. Some SIS redeliver a
    record with bytes that differ only in delivery details: a new surrogate row id (a
    repeated SQL row), a new ``sent_at`` (a retried webhook). With ``identity`` the record
    is named by ``identity(data)`` and its payload is the record without ``delivery_fields``
    (canonical JSON), so a redelivery keeps its event id and consumers drop it.
    """

    def __init__(self, inner: Source, *, refs: Mapping[str, Ref] | None = None,
                 identity: Callable[[dict[str, Any]], str] | None = None, delivery_fields: tuple[str, ...] = ()) -> None:
        super().__init__(inner.name, poll_interval=inner.poll_interval)
        self.inner, self.refs = inner, dict(refs or {})
        self._identity, self._drop = identity, frozenset(delivery_fields)
        self.kind = inner.kind  # type: ignore[misc]

    def read(self, cursor: Any) -> Iterator[Item]:
        for item in self.inner.read(cursor):
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
            value = _or_none(key, data)
            joined[name] = lookup.get(str(value)) if value not in (None, "") else None
        return replace(item, data=joined, identity=identity, payload=payload)

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()
        for _, lookup in self.refs.values():
            close = getattr(lookup, "close", None)
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


def _or_none(fn: Callable[[dict[str, Any]], Any], data: dict[str, Any]) -> Any:
    try:
        return fn(data)
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
