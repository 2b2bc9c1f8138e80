"""UCN's ESAS connector on the simulated views in SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.partners.ucn_esas import UcnEsas
from connectors.sdk import SourceUnavailable
from tests.connectors.partners.simulated import (
    SimulatedSuite,
    assert_matches_simulation,
    counts,
    outcomes,
    reasons,
)

HEI = "ucn.dk"
KINDS = {"invalid_record": "invalid_record", "unknown_grade_label": "unknown_grade", "unknown_course": "unknown_course",
         "unknown_institution": "unknown_institution"}  # simulator's word -> dead letter kind


class TestUcnEsas(SimulatedSuite):
    connector_class = UcnEsas

    def prepare(self, tmp_path: Path) -> dict[str, object]:
        return {"url": f"sqlite:///{self.alliance / HEI / 'esas.sqlite'}", "poll_interval": 0.05}


def test_good_and_bad_records_are_the_simulators_in_every_database(sis_database: Callable[[str], str], native_alliance: Path,
                                                 tmp_path: Path) -> None:
    results = outcomes(UcnEsas(url=sis_database(HEI)), tmp_path)
    assert_matches_simulation(results, native_alliance, HEI)
    assert reasons(results) == {KINDS[k]: n for k, n in counts(native_alliance, HEI)["bad_by_kind"].items()}


@pytest.fixture
def esas(native_alliance: Path, tmp_path: Path) -> Path:
    """A copy of the simulated ESAS database to add rows to."""
    path = tmp_path / "esas.sqlite"
    shutil.copy(native_alliance / HEI / "esas.sqlite", path)
    return path


def _add_grade(db: Path, **changes: object) -> None:
    """A copy of the first good 7-point assessment with ``changes``, as a new row (a new id)."""
    con = sqlite3.connect(db)
    row = dict(zip([d[0] for d in con.execute("SELECT * FROM esas_bedoemmelse").description],
                   con.execute("SELECT * FROM esas_bedoemmelse WHERE skala = '7-trinsskala' AND karakter = '7' "
                               "AND studienummer LIKE 'S%' ORDER BY id LIMIT 1").fetchone(), strict=True))
    row.pop("id")
    row.update(changes)
    con.execute(f"INSERT INTO esas_bedoemmelse ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    con.commit()
    con.close()


def test_02_is_a_grade_and_2_is_not(esas: Path, tmp_path: Path) -> None:
    _add_grade(esas, bedoemmelse_id="t-02", karakter="02")
    _add_grade(esas, bedoemmelse_id="t-2", karakter="2")
    results = outcomes(UcnEsas(url=f"sqlite:///{esas}"), tmp_path)
    [grade] = [out.event for _, _, o in results for out in o.outputs if getattr(out.event, "result_id", "") == "t-02"]
    assert (grade.grade_label, grade.grading_scheme_id) == ("02", "ucn.dk/7-point")
    [letter] = [o.dead_letter.event for _, item, o in results if o.dead_letter is not None and item.identity == "t-2"]
    assert letter.error_kind == "unknown_grade" and letter.reason.startswith("'2' is not a grade of ucn.dk/7-point")


def test_a_repeated_row_with_a_new_id_keeps_its_event_id(esas: Path, tmp_path: Path) -> None:
    _add_grade(esas, bedoemmelse_id="t-again")
    _add_grade(esas, bedoemmelse_id="t-again")
    ids = [out.event.event_id for _, _, o in outcomes(UcnEsas(url=f"sqlite:///{esas}"), tmp_path)
           for out in o.outputs if getattr(out.event, "result_id", "") == "t-again"]
    assert len(ids) == 2 and ids[0] == ids[1]


def test_an_unreachable_database_is_retried_not_dead_lettered(tmp_path: Path) -> None:
    conn = UcnEsas(url="postgresql+psycopg2://hub@127.0.0.1:9/esas", password="secret")
    with pytest.raises(SourceUnavailable) as err:
        outcomes(conn, tmp_path)
    assert "secret" not in str(err.value)
