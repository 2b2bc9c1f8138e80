"""SQL polling on SQLite (always), PostgreSQL and MariaDB (where they run on 127.0.0.1)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, Field

from connectors.sdk import ConfigError, Connector, ConnectorRunner, ConnectorSettings, CursorStore, MemoryPublisher
from connectors.sources import SqlSource
from schemas.models import Grade
from tests.conftest import require_service
from tests.connectors.helpers import dead_letters, events, run_once

URLS = {
    "sqlite": None,  # a file in tmp_path
    "postgresql": "postgresql+psycopg2://postgres:postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}
T0 = datetime(2025, 6, 1, 10, 0, 0)


class Settings(ConnectorSettings):
    url: str
    table: str
    mode: str = "incrementing"


class Row(BaseModel):
    id: int
    student: str = Field(min_length=1)
    course: str
    grade: str
    ects: Decimal
    assessed: date
    updated_at: datetime


def grade(r: Row, s: Settings) -> Grade:
    return Grade(source_hei="ipbeja.pt", hei="ipbeja.pt", student_id=r.student, result_id=str(r.id), course_code=r.course,
                 grade_label=r.grade, grading_scheme_id="ipbeja.pt:0-20", ects=r.ects, assessed_on=r.assessed,
                 status="FINAL", occurred_at=r.updated_at.replace(tzinfo=__import__("datetime").timezone.utc))


class AcademicDb(Connector):
    hei = "ipbeja.pt"
    name = "sql_test"
    settings_class = Settings
    mappings = {"grades": grade}

    def sources(self, s: Settings) -> list[SqlSource]:
        return [SqlSource("grades", s.url, s.table, mode=s.mode, id_column="id", timestamp_column="updated_at",  # type: ignore[arg-type]
                          overlap_seconds=60, batch_size=3, poll_interval=0.1)]


@pytest.fixture(params=list(URLS))
def database(request, tmp_path):
    kind = request.param
    url = URLS[kind] or f"sqlite:///{tmp_path / 'sis.sqlite'}"
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except Exception as exc:
        engine.dispose()
        require_service(f"{kind} on 127.0.0.1", f"cannot connect ({str(exc).splitlines()[0]}); run deploy/dev-services start")
    table_name = f"grades_{uuid.uuid4().hex[:8]}"
    table = sa.Table(table_name, sa.MetaData(),
                     sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                     sa.Column("student", sa.String(40)), sa.Column("course", sa.String(20)),
                     sa.Column("grade", sa.String(5)), sa.Column("ects", sa.Numeric(5, 2)),
                     sa.Column("assessed", sa.Date), sa.Column("updated_at", sa.DateTime))
    table.create(engine)
    try:
        yield url, engine, table
    finally:
        table.drop(engine)
        engine.dispose()


def _insert(engine, table, tag, rows):
    with engine.begin() as con:
        con.execute(table.insert(), [{"id": i, "student": "" if bad else f"{tag}-{i}", "course": "EI-101",
                                      "grade": str(10 + i % 10), "ects": Decimal("6.0"), "assessed": date(2025, 5, 30),
                                      "updated_at": T0 + timedelta(seconds=sec)} for i, sec, bad in rows])


@pytest.mark.kafka
def test_incrementing_mode_publishes_new_rows_and_dead_letters_bad_ones(database, broker, registry, tmp_path):
    url, engine, table = database
    tag = uuid.uuid4().hex[:8]
    _insert(engine, table, tag, [(1, 0, False), (2, 1, False), (3, 2, True), (4, 3, False), (5, 4, False)])
    conn = AcademicDb(url=url, table=table.name)
    db = tmp_path / "c.sqlite"
    first = run_once(conn, broker, registry, db)
    assert first.published["sis.ipbeja.pt.grades"] == 4 and first.rejected == {"invalid_record": 1}
    assert CursorStore(db).load("grades") == {"id": 5}
    _insert(engine, table, tag, [(6, 5, False), (7, 6, False)])
    second = run_once(conn, broker, registry, db)
    assert second.published["sis.ipbeja.pt.grades"] == 2
    published = events(broker, registry, "sis.ipbeja.pt.grades", tag)
    assert sorted(r["result_id"] for r in published) == ["1", "2", "4", "5", "6", "7"]
    letters = [r for r in dead_letters(broker, registry, "sql_test.grades") if r["source_location"] == f"{table.name} id=3"]
    assert len(letters) == 1 and "student" in letters[0]["reason"]


@pytest.mark.parametrize("mode", ["timestamp+incrementing", "timestamp"])
def test_a_row_committed_late_inside_the_overlap_window_is_not_skipped(database, tmp_path, mode):
    url, engine, table = database
    tag = uuid.uuid4().hex[:8]
    # ids 1..7 at t0+0..6 s, but id 4 (t0+3 s) is still uncommitted when the connector reads
    _insert(engine, table, tag, [(i, i - 1, False) for i in (1, 2, 3, 5, 6, 7)])
    publisher = MemoryPublisher()
    runner = ConnectorRunner(AcademicDb(url=url, table=table.name, mode=mode), publisher, CursorStore(tmp_path / "c.sqlite"))
    assert sum(runner.run(once=True).published.values()) == 6
    _insert(engine, table, tag, [(4, 3, False)])
    assert sum(runner.run(once=True).published.values()) == 1, "the late row was skipped"
    assert sum(runner.run(once=True).published.values()) == 0, "a re-run published again"
    # many rows at one timestamp, more than a page: all read once
    _insert(engine, table, tag, [(i, 10, False) for i in range(8, 16)])
    assert sum(runner.run(once=True).published.values()) == 8
    assert len(publisher.acked) == 15


def test_settings_errors_are_listed_together():
    with pytest.raises(ConfigError) as info:
        SqlSource("grades", "not a url", "t", mode="timestamp", batch_size=0)  # type: ignore[arg-type]
    assert len(info.value.problems) == 3
