"""Copy the SQL partners' simulated tables (UCN's ESAS, IPBeja's netPA) into any SQLAlchemy database.

The SQLite files stay the source; the target gets the same tables (and ESAS's views), the same
ids and rows, so a connector polls PostgreSQL or MariaDB exactly as it polls the SQLite file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from hub.simulate.natives.sqlviews import DATABASE, SCHEMAS, VIEWS

BATCH = 5000


class SqlLoadError(RuntimeError):
    """The target database could not be written; the message says which and how to fix it."""


@dataclass(frozen=True)
class LoadReport:
    url: str
    rows: dict[str, int]


def load_sql(sim_dir: str | Path, url: str, partners: tuple[str, ...] = ("ucn.dk", "ipbeja.pt")) -> LoadReport:
    """Create (replacing) the partners' tables in the database at ``url`` and copy every row."""
    from sqlalchemy import (
        CHAR,
        Column,
        Date,
        DateTime,
        Integer,
        MetaData,
        Numeric,
        String,
        Table,
        create_engine,
        insert,
        text,
    )
    from sqlalchemy.exc import SQLAlchemyError

    types = {"INTEGER": Integer, "DATE": Date, "TIMESTAMP": DateTime}

    def column_type(sql: str):  # type: ignore[no-untyped-def]
        if sql in types:
            return types[sql]()
        name, _, size = sql.partition("(")
        args = [int(x) for x in size.rstrip(")").split(",")] if size else []
        return {"VARCHAR": String, "CHAR": CHAR, "NUMERIC": Numeric}[name](*args)

    root = Path(sim_dir)
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError) as exc:
        raise SqlLoadError(f"cannot use database URL {url!r}: {exc} (e.g. postgresql+psycopg2://user:pw@127.0.0.1/test "
                           "or mysql+pymysql://root@127.0.0.1/test)") from exc
    rows: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            for hei in partners:
                source = root / hei / DATABASE[hei]
                if not source.exists():
                    raise SqlLoadError(f"{source} is missing: run `hub simulate` into {root} first")
                meta = MetaData()
                tables = {name: Table(name, meta, Column("id", Integer, primary_key=True, autoincrement=True),
                                      *(Column(c, column_type(t)) for c, t in cols))
                          for name, cols in SCHEMAS[hei].items()}
                for view in VIEWS[hei]:
                    conn.execute(text(f"DROP VIEW IF EXISTS {view}"))
                meta.drop_all(conn, checkfirst=True)
                meta.create_all(conn)
                for view, table in VIEWS[hei].items():
                    conn.execute(text(f"CREATE VIEW {view} AS SELECT * FROM {table}"))
                db = sqlite3.connect(source)
                try:
                    for name, table in tables.items():
                        rows[name] = _copy(db, conn, table, insert)
                finally:
                    db.close()
                if engine.dialect.name == "postgresql":
                    for name in tables:
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                          f"GREATEST((SELECT MAX(id) FROM {name}), 1))"))
    except SQLAlchemyError as exc:
        raise SqlLoadError(f"loading into {engine.url.render_as_string(hide_password=True)} failed: {exc.__class__.__name__}: "
                           f"{str(exc).splitlines()[0]} (is the server running and the database created?)") from exc
    finally:
        engine.dispose()
    return LoadReport(engine.url.render_as_string(hide_password=True), rows)


def _copy(db: sqlite3.Connection, conn, table, insert) -> int:  # type: ignore[no-untyped-def]
    names = [c.name for c in table.columns]
    converters = [_converter(str(c.type)) for c in table.columns]
    cursor = db.execute(f"SELECT {', '.join(names)} FROM {table.name} ORDER BY id")
    count = 0
    while batch := cursor.fetchmany(BATCH):
        conn.execute(insert(table), [{n: f(v) for n, f, v in zip(names, converters, row, strict=True)} for row in batch])
        count += len(batch)
    return count


def _converter(sql_type: str):  # type: ignore[no-untyped-def]
    if sql_type == "DATE":
        return lambda v: date.fromisoformat(v) if isinstance(v, str) else v
    if sql_type in ("DATETIME", "TIMESTAMP"):
        return lambda v: datetime.fromisoformat(v) if isinstance(v, str) else v
    return lambda v: v
