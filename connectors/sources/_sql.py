"""SQL polling (SQLAlchemy: SQLite, PostgreSQL via psycopg2, MariaDB via pymysql), as Kafka Connect's JDBC source.

Modes:
- ``incrementing``: ``WHERE id > :last ORDER BY id``; cursor ``{"id": last}``.
- ``timestamp`` / ``timestamp+incrementing``: rows ordered by (timestamp, id), read
  from ``cursor − overlap`` on, skipping rows already seen by (timestamp, id).
  Cursor ``{"ts": newest timestamp, "seen": [[ts, id], ...]}`` (only rows inside
  the window are remembered). A row committed late, with a timestamp up to
  ``overlap_seconds`` older than the newest one read, is therefore still read,
  where Kafka Connect's strict ``ts > last`` would skip it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import SecretStr

from connectors.sdk import ConfigError, Item, NativeRecord, Source, SourceUnavailable, StopConnector, canonical_bytes

Mode = Literal["incrementing", "timestamp", "timestamp+incrementing"]
_SLACK = timedelta(seconds=1)  # stored timestamps may be coarser text than bound ones (SQLite): read a little more


class SqlSource(Source):
    """Polls one table or view::

        SqlSource("grades", "mysql+pymysql://hub@sis.ipbeja.pt/academic", "v_hub_grades",
                  mode="timestamp+incrementing", id_column="grade_id", timestamp_column="updated_at",
                  password=s.db_password, credentials_setting="HUB_IPBEJA_DB_PASSWORD")
    """

    kind = "SQL"

    def __init__(
        self,
        name: str,
        url: str,
        table: str,
        *,
        mode: Mode = "incrementing",
        id_column: str = "id",
        timestamp_column: str | None = None,
        overlap_seconds: float = 60.0,
        batch_size: int = 500,
        db_schema: str | None = None,
        password: SecretStr | str | None = None,
        credentials_setting: str = "the database password setting",
        poll_interval: float | None = None,
    ) -> None:
        super().__init__(name, poll_interval=poll_interval)
        problems = []
        try:
            self.url = sa.engine.make_url(url)
        except sa.exc.ArgumentError as exc:
            problems.append(f"{name}: {url!r} is not an SQLAlchemy URL ({exc}); e.g. postgresql+psycopg2://user@host/db")
        if mode not in ("incrementing", "timestamp", "timestamp+incrementing"):
            problems.append(f"{name}: mode must be incrementing, timestamp or timestamp+incrementing, got {mode!r}")
        if mode != "incrementing" and not timestamp_column:
            problems.append(f"{name}: mode {mode} needs timestamp_column")
        if overlap_seconds < 0 or batch_size < 1:
            problems.append(f"{name}: overlap_seconds must be >= 0 and batch_size >= 1")
        if problems:
            raise ConfigError(problems)
        if password is not None:
            secret = password.get_secret_value() if isinstance(password, SecretStr) else password
            self.url = self.url.set(password=secret)
        self.table_name, self.db_schema = table, db_schema
        self.mode, self.id_column, self.ts_column = mode, id_column, timestamp_column
        self.window = timedelta(seconds=overlap_seconds)
        self.batch_size = batch_size
        self.credentials_setting = credentials_setting
        self._engine: sa.Engine | None = None
        self._table: sa.Table | None = None

    def describe(self) -> str:
        return f"SQL source {self.name!r} ({self.url.render_as_string(hide_password=True)} {self.table_name})"

    def open(self) -> None:
        if self._engine is None:
            self._engine = sa.create_engine(self.url, pool_pre_ping=True)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._table = None

    def _reflect(self) -> sa.Table:
        if self._table is None:
            self.open()
            assert self._engine is not None
            with self._translate():
                self._table = sa.Table(self.table_name, sa.MetaData(schema=self.db_schema), autoload_with=self._engine)
            missing = [c for c in (self.id_column, self.ts_column) if c and c not in self._table.c]
            if missing:
                raise StopConnector(f"{self.describe()}: no column {', '.join(missing)} in {self.table_name} "
                                    f"(columns: {', '.join(self._table.c.keys())}); fix id_column/timestamp_column")
        return self._table

    def check(self) -> str:
        table = self._reflect()
        assert self._engine is not None
        with self._translate(), self._engine.connect() as con:
            count = con.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        return f"{self.table_name}: {count} rows, mode {self.mode}"

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """Database errors become what happens next: retry (unreachable) or stop (wrong table, password, driver)."""
        try:
            yield
        except (StopConnector, SourceUnavailable):
            raise
        except sa.exc.NoSuchTableError as exc:
            raise StopConnector(f"{self.describe()}: no table or view {exc}; fix the table setting") from exc
        except sa.exc.NoSuchModuleError as exc:
            raise StopConnector(f"{self.describe()}: no driver for this URL ({exc}); pip install it") from exc
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            if "denied" in str(exc).lower() or "authentication failed" in str(exc).lower():
                raise StopConnector(f"{self.describe()}: access denied; check {self.credentials_setting}") from exc
            raise SourceUnavailable(f"{self.describe()}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
        except sa.exc.ProgrammingError as exc:
            raise StopConnector(f"{self.describe()}: {str(exc).splitlines()[0]}") from exc

    def read(self, cursor: Any) -> Iterator[Item]:
        table = self._reflect()
        if self.mode == "incrementing":
            yield from self._incrementing(table, cursor.get("id") if cursor else None)
        else:
            yield from self._timestamped(table, cursor or {})

    def _record(self, row: Any, cursor: Any) -> NativeRecord:
        data = dict(row._mapping)
        key = data[self.id_column]
        return NativeRecord(data, canonical_bytes(data), str(key), f"{self.table_name} {self.id_column}={key}", cursor)

    def _fetch(self, query: Any) -> list[Any]:
        assert self._engine is not None
        with self._translate(), self._engine.connect() as con:
            return list(con.execute(query))

    def _incrementing(self, table: sa.Table, last: Any) -> Iterator[Item]:
        col = table.c[self.id_column]
        while True:
            query = sa.select(table).order_by(col).limit(self.batch_size)
            rows = self._fetch(query if last is None else query.where(col > last))
            for row in rows:
                last = row._mapping[self.id_column]
                yield self._record(row, {"id": last})
            if len(rows) < self.batch_size:
                return

    def _timestamped(self, table: sa.Table, cursor: dict[str, Any]) -> Iterator[Item]:
        assert self.ts_column is not None
        ts_col, id_col = table.c[self.ts_column], table.c[self.id_column]
        newest = _parse(cursor.get("ts"))
        seen: set[tuple[str, str]] = {(str(t), str(i)) for t, i in cursor.get("seen", [])}
        bound = newest - self.window if newest is not None else None
        limit = self.batch_size

        def snapshot() -> dict[str, Any]:
            keep_from = (newest - self.window - _SLACK).isoformat() if newest is not None else ""
            return {"ts": newest.isoformat() if newest is not None else None,
                    "seen": sorted([t, i] for t, i in seen if t >= keep_from)}

        while True:
            query = sa.select(table).order_by(ts_col, id_col).limit(limit)
            if bound is not None:
                query = query.where(ts_col >= bound - _SLACK)
            rows = self._fetch(query)
            fresh = 0
            for row in rows:
                ts = row._mapping[self.ts_column]
                if ts is None:
                    continue
                key = (ts.isoformat(), str(row._mapping[self.id_column]))
                if key in seen:
                    continue
                seen.add(key)
                fresh += 1
                if newest is None or ts > newest:
                    newest = ts
                yield self._record(row, snapshot)
            if len(rows) < limit:
                return
            last_ts = rows[-1]._mapping[self.ts_column]
            if fresh == 0 or (bound is not None and last_ts <= bound):
                limit *= 2  # a page of rows at one timestamp, all seen: widen the page to get past them
            else:
                bound, limit = last_ts, self.batch_size


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
