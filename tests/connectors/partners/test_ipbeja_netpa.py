"""IPBeja's netPA connector on the simulated tables in SQLite, PostgreSQL and MariaDB (production: MariaDB)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from connectors.partners.ipbeja_netpa import IpbejaNetpa
from tests.connectors.partners.simulated import (
    SimulatedSuite,
    assert_matches_simulation,
    counts,
    outcomes,
    reasons,
)

HEI = "ipbeja.pt"
KINDS = {"invalid_record": "invalid_record", "unknown_grade_label": "unknown_grade", "unknown_course": "unknown_course",
         "unknown_institution": "unknown_institution"}  # simulator's word -> dead letter kind


class TestIpbejaNetpa(SimulatedSuite):
    connector_class = IpbejaNetpa

    def prepare(self, tmp_path: Path) -> dict[str, object]:
        return {"url": f"sqlite:///{self.alliance / HEI / 'netpa.sqlite'}", "poll_interval": 0.05}


def test_good_and_bad_records_are_the_simulators_in_every_database(sis_database: Callable[[str], str], native_alliance: Path,
                                                 tmp_path: Path) -> None:
    results = outcomes(IpbejaNetpa(url=sis_database(HEI)), tmp_path)
    assert_matches_simulation(results, native_alliance, HEI)
    assert reasons(results) == {KINDS[k]: n for k, n in counts(native_alliance, HEI)["bad_by_kind"].items()}


def test_exam_seasons_are_attempts_and_a_withdrawal_is_a_new_row(native_alliance: Path, tmp_path: Path) -> None:
    db = tmp_path / "netpa.sqlite"
    shutil.copy(native_alliance / HEI / "netpa.sqlite", db)
    con = sqlite3.connect(db)
    student, course = con.execute("SELECT cd_aluno, cd_discip FROM netpa_inscricoes ORDER BY id LIMIT 1").fetchone()
    con.execute("INSERT INTO netpa_avaliacoes (id_avaliacao, cd_aluno, cd_discip, ano_lectivo, epoca, nota, nr_ects, "
                "dt_avaliacao, estado, dt_actualizacao) VALUES ('t-1', ?, ?, '202526', 'E', '9', 6, '2026-07-20', 'A', "
                "'2026-07-24 10:00:00')", (student, course))
    con.execute("INSERT INTO netpa_inscricoes (id_inscricao, cd_aluno, cd_discip, ano_lectivo, cd_semestre, estado, "
                "dt_actualizacao) VALUES ('t-2', ?, ?, '202526', 'S2', 'A', '2026-03-01 09:00:00')", (student, course))
    con.commit()
    con.close()
    events = {getattr(out.event, "result_id", None) or out.event.course_code + "/" + out.event.status.value: out.event
              for _, _, o in outcomes(IpbejaNetpa(url=f"sqlite:///{db}"), tmp_path) for out in o.outputs}
    grade = events["t-1"]
    assert (grade.attempt, grade.grade_label, grade.status.value, grade.academic_year) == (3, "9", "REVOKED", "2025/2026")
    withdrawal = events[f"{course}/WITHDRAWN"]
    assert (withdrawal.term_id, withdrawal.occurred_at.isoformat()) == ("2025/2026-2", "2026-03-01T09:00:00+00:00")
