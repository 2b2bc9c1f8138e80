"""One small simulated alliance per session: the recorded native input of every partner connector test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.simulate import SimulationConfig, simulate

# A high share of bad records, so every kind of bad record of every partner occurs.
ALLIANCE = {"seed": 11, "students": 120, "bad_share": 0.08}


@pytest.fixture(scope="session")
def native_alliance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alliance") / "sim"
    simulate(SimulationConfig(out=out, **ALLIANCE))
    return out


SERVERS = {
    "postgresql": ("postgresql+psycopg2://postgres:postgres@127.0.0.1:5432/{db}",
                   "postgresql+psycopg2://postgres:postgres@127.0.0.1:5432/postgres"),
    "mariadb": ("mysql+pymysql://root@127.0.0.1:3306/{db}", "mysql+pymysql://root@127.0.0.1:3306/mysql"),
}


@pytest.fixture(scope="session", params=["sqlite", "postgresql", "mariadb"])
def sis_database(request: pytest.FixtureRequest, native_alliance: Path) -> Iterator[Callable[[str], str]]:
    """``url(hei)``: the SQL partners' simulated tables in SQLite (as written), PostgreSQL or MariaDB.

    The servers get a database of their own (loaded by the simulator's SQL loader, dropped
    afterwards); a server that is not running skips its tests (``deploy/dev-services start``).
    """
    import sqlalchemy as sa

    from hub.simulate import load_sql
    from hub.simulate.natives.sqlviews import DATABASE
    from tests.conftest import require_service

    if request.param == "sqlite":
        yield lambda hei: f"sqlite:///{native_alliance / hei / DATABASE[hei]}"
        return
    template, admin_url = SERVERS[request.param]
    name = f"partners_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # noqa: BLE001 - any failure means the server is not usable here
        admin.dispose()
        require_service(f"{request.param} on 127.0.0.1 (deploy/dev-services start)", str(exc).splitlines()[0])
    try:
        url = template.format(db=name)
        load_sql(native_alliance, url)
        yield lambda hei: url
    finally:
        with admin.connect() as conn:
            if request.param == "postgresql":  # connectors of the tests may still hold idle connections
                conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()
