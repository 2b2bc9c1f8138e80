"""UCN (ucn.dk, ESAS views) and IPBeja (ipbeja.pt, netPA tables): SQL rows in SQLite files.

Every table has an incrementing ``id`` (insertion order = delivery order) and an updated-at
column holding the event time (UTC, ``YYYY-MM-DD HH:MM:SS``), so a connector can poll by id
or by timestamp (a late row has a new id but an old timestamp: polling by timestamp misses it).
A new version of a record (a correction, a withdrawal) is a new row with the same natural id
(``bedoemmelse_id`` / ``id_avaliacao``); a duplicate delivery is a repeated row with a new ``id``.
ESAS data is read through views (``v_studerende``, ``v_uddannelseselement``, ``v_tilmelding``,
``v_bedoemmelse`` over the ``esas_*`` tables); netPA through its ``netpa_*`` tables.
``hub.simulate.load_sql`` copies both into PostgreSQL or MariaDB.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.simulate._catalogue import Course
from hub.simulate._delivery import utc
from hub.simulate._grades import unknown_label
from hub.simulate.natives._base import SisWriter

# table -> [(column, SQL type)]; "id" comes first everywhere.  Types are portable (SQLite, PostgreSQL, MariaDB).
SCHEMAS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "ucn.dk": {
        "esas_studerende": [("studienummer", "VARCHAR(20)"), ("esi", "VARCHAR(255)"), ("fornavn", "VARCHAR(80)"),
                            ("efternavn", "VARCHAR(80)"), ("uddannelse_isced", "VARCHAR(4)"), ("opdateret", "TIMESTAMP")],
        "esas_uddannelseselement": [("elementkode", "VARCHAR(20)"), ("titel", "VARCHAR(200)"), ("ects", "NUMERIC(5,2)"),
                                    ("isced", "VARCHAR(4)"), ("karakterskala", "VARCHAR(30)"), ("semester", "VARCHAR(10)"),
                                    ("opdateret", "TIMESTAMP")],
        "esas_tilmelding": [("tilmelding_id", "VARCHAR(40)"), ("studienummer", "VARCHAR(20)"), ("elementkode", "VARCHAR(20)"),
                            ("semester", "VARCHAR(10)"), ("status", "VARCHAR(12)"), ("opdateret", "TIMESTAMP")],
        "esas_bedoemmelse": [("bedoemmelse_id", "VARCHAR(40)"), ("studienummer", "VARCHAR(20)"), ("elementkode", "VARCHAR(20)"),
                             ("karakter", "VARCHAR(20)"), ("skala", "VARCHAR(30)"), ("ects", "NUMERIC(5,2)"),
                             ("bedoemmelsesdato", "DATE"), ("forsoeg", "INTEGER"), ("status", "VARCHAR(12)"),
                             ("opdateret", "TIMESTAMP")],
    },
    "ipbeja.pt": {
        "netpa_alunos": [("cd_aluno", "VARCHAR(20)"), ("esi", "VARCHAR(255)"), ("nm_aluno", "VARCHAR(160)"),
                         ("cd_isced", "VARCHAR(4)"), ("dt_actualizacao", "TIMESTAMP")],
        "netpa_disciplinas": [("cd_discip", "VARCHAR(20)"), ("ds_discip", "VARCHAR(200)"), ("nr_ects", "NUMERIC(5,2)"),
                              ("cd_isced", "VARCHAR(4)"), ("cd_escala", "VARCHAR(10)"), ("ano_lectivo", "VARCHAR(6)"),
                              ("cd_semestre", "VARCHAR(2)"), ("dt_actualizacao", "TIMESTAMP")],
        "netpa_inscricoes": [("id_inscricao", "VARCHAR(20)"), ("cd_aluno", "VARCHAR(20)"), ("cd_discip", "VARCHAR(20)"),
                             ("ano_lectivo", "VARCHAR(6)"), ("cd_semestre", "VARCHAR(2)"), ("estado", "CHAR(1)"),
                             ("dt_actualizacao", "TIMESTAMP")],
        "netpa_avaliacoes": [("id_avaliacao", "VARCHAR(20)"), ("cd_aluno", "VARCHAR(20)"), ("cd_discip", "VARCHAR(20)"),
                             ("ano_lectivo", "VARCHAR(6)"), ("epoca", "CHAR(1)"), ("nota", "VARCHAR(10)"),
                             ("nr_ects", "NUMERIC(5,2)"), ("dt_avaliacao", "DATE"), ("estado", "CHAR(1)"),
                             ("dt_actualizacao", "TIMESTAMP")],
    },
}
VIEWS: dict[str, dict[str, str]] = {
    "ucn.dk": {"v_studerende": "esas_studerende", "v_uddannelseselement": "esas_uddannelseselement",
               "v_tilmelding": "esas_tilmelding", "v_bedoemmelse": "esas_bedoemmelse"},
    "ipbeja.pt": {},
}
DATABASE = {"ucn.dk": "esas.sqlite", "ipbeja.pt": "netpa.sqlite"}
_ESAS_STATUS = {"FINAL": "GYLDIG", "CORRECTED": "RETTET", "REVOKED": "ANNULLERET"}
_NETPA_STATUS = {"FINAL": "D", "CORRECTED": "C", "REVOKED": "A"}
_ESAS_SCALE = {"ucn.dk/7-point": "7-trinsskala", "ucn.dk/pass-fail": "bestået/ikke bestået"}
_FOREIGN = {"ucn.dk": "aau.dk", "ipbeja.pt": "ulisboa.pt"}


def ddl(table: str, columns: list[tuple[str, str]]) -> str:
    return f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, " + ", ".join(f"{c} {t}" for c, t in columns) + ")"


def _stamp(t_ms: int) -> str:
    return utc(t_ms).strftime("%Y-%m-%d %H:%M:%S")


class SqlWriter(SisWriter):
    """Rows into the partner's SQLite file, one table per kind of record."""

    BAD_KINDS = ("invalid_record", "unknown_grade_label", "unknown_course", "unknown_institution")

    def open(self) -> None:
        self.ctx.folder.mkdir(parents=True, exist_ok=True)
        path = self.ctx.folder / DATABASE[self.ctx.hei]
        path.unlink(missing_ok=True)
        self.db = sqlite3.connect(path)
        self.tables = SCHEMAS[self.ctx.hei]
        for table, columns in self.tables.items():
            self.db.execute(ddl(table, columns))
        for view, table in VIEWS[self.ctx.hei].items():
            self.db.execute(f"CREATE VIEW {view} AS SELECT * FROM {table}")
        self._courses()

    def insert(self, table: str, values: tuple[Any, ...]) -> int:
        columns = [c for c, _ in self.tables[table]]
        cur = self.db.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values)
        return int(cur.lastrowid or 0)

    def close(self) -> None:
        self.db.commit()
        self.db.close()

    def _courses(self) -> None:
        raise NotImplementedError

    def bad(self, badness: str, near: dict[str, Any], course: Course) -> tuple[dict[str, Any], str]:
        rng = self.ctx.rng
        r = self.sample_grade(near, course, f"9{rng.randint(10_000_000, 99_999_999)}")
        code, label = course.code, r["label"]
        if badness == "invalid_record":
            label, detail = None, "the grade column is NULL"
        elif badness == "unknown_grade_label":
            label = unknown_label(rng, course.scheme_id)
            detail = f"grade {label!r} is not a grade of {course.scheme_id}"
        elif badness == "unknown_course":
            code = f"X{rng.randint(100000, 999999)}"
            detail = f"course {code} is not in the course table"
        else:
            foreign = _FOREIGN[self.ctx.hei]
            r["sid"] = f"X{rng.randint(100000, 999999)}"
            self.foreign_student(r["sid"], f"urn:schac:personalUniqueCode:int:esi:{foreign}:{r['sid']}", r["t"])
            self.ctx.counts.reference["students"] += 1
            self.ctx.counts.deliveries += 1
            detail = f"the student's ESI is issued by {foreign}, not a HEROES partner"
        table, row_id = self.grade_row(r, course, code, label)
        return {"table": table, "id": row_id}, detail

    def foreign_student(self, sid: str, esi: str, t_ms: int) -> None:
        raise NotImplementedError

    def grade_row(self, r: dict[str, Any], course: Course, code: str, label: str | None) -> tuple[str, int]:
        raise NotImplementedError


class EsasWriter(SqlWriter):
    FORMAT = "esas-sql"

    def _courses(self) -> None:
        for c in self.ctx.catalogue.courses:
            self.insert("esas_uddannelseselement", (c.code, c.title, float(c.ects), c.isced, _ESAS_SCALE[c.scheme_id],
                                                     self.ctx.cal.local_term("ucn.dk", c.term), _stamp(self.ctx.cal.start_of_year().timestamp() * 1000)))
        self.ctx.counts.reference["courses"] += len(self.ctx.catalogue.courses)

    def student(self, r: dict[str, Any]) -> None:
        self.insert("esas_studerende", (r["sid"], r["esi"], r["given"], r["family"], r["isced"], _stamp(r["t"])))

    def foreign_student(self, sid: str, esi: str, t_ms: int) -> None:
        self.insert("esas_studerende", (sid, esi, "Gæst", "Studerende", "0613", _stamp(t_ms)))

    def record(self, r: dict[str, Any], course: Course) -> None:
        if r["k"] == "enrolment":
            self.insert("esas_tilmelding", (r["rid"], r["sid"], course.code, self.ctx.cal.local_term("ucn.dk", course.term),
                                            "TILMELDT" if r["status"] == "REGISTERED" else "AFMELDT", _stamp(r["t"])))
        else:
            self.grade_row(r, course, course.code, r["label"])

    def grade_row(self, r: dict[str, Any], course: Course, code: str, label: str | None) -> tuple[str, int]:
        row_id = self.insert("esas_bedoemmelse", (r["rid"], r["sid"], code, label, _ESAS_SCALE[course.scheme_id],
                                                   float(course.ects), r["on"], r["att"], _ESAS_STATUS[r["st"]], _stamp(r["t"])))
        return "esas_bedoemmelse", row_id


class NetpaWriter(SqlWriter):
    FORMAT = "netpa-sql"

    @property
    def year(self) -> str:
        return f"{self.ctx.cal.y0}{str(self.ctx.cal.y1)[2:]}"

    def _courses(self) -> None:
        for c in self.ctx.catalogue.courses:
            self.insert("netpa_disciplinas", (c.code, c.title, float(c.ects), c.isced, "0-20", self.year, f"S{c.term}",
                                              _stamp(self.ctx.cal.start_of_year().timestamp() * 1000)))
        self.ctx.counts.reference["courses"] += len(self.ctx.catalogue.courses)

    def student(self, r: dict[str, Any]) -> None:
        self.insert("netpa_alunos", (r["sid"], r["esi"], f"{r['given']} {r['family']}", r["isced"], _stamp(r["t"])))

    def foreign_student(self, sid: str, esi: str, t_ms: int) -> None:
        self.insert("netpa_alunos", (sid, esi, "Estudante Visitante", "0413", _stamp(t_ms)))

    def record(self, r: dict[str, Any], course: Course) -> None:
        if r["k"] == "enrolment":
            self.insert("netpa_inscricoes", (r["rid"], r["sid"], course.code, self.year, f"S{course.term}",
                                             "I" if r["status"] == "REGISTERED" else "A", _stamp(r["t"])))
        else:
            self.grade_row(r, course, course.code, r["label"])

    def grade_row(self, r: dict[str, Any], course: Course, code: str, label: str | None) -> tuple[str, int]:
        epoca = {1: "N", 2: "R"}.get(r["att"], "E")
        row_id = self.insert("netpa_avaliacoes", (r["rid"], r["sid"], code, self.year, epoca, label, float(course.ects),
                                                   r["on"], _NETPA_STATUS[r["st"]], _stamp(r["t"])))
        return "netpa_avaliacoes", row_id
