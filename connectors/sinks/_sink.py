"""Write-back: recognised credits from ``hub.recognitions`` into the home SIS (file export, SQL insert).

A sink writes a batch durably and idempotently (the same decision written twice
changes nothing); the runner commits Kafka offsets only after the write, so a
crash re-delivers at most the last batch, which the sink absorbs.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa

from connectors.sdk import ConfigError
from schemas.models import DecisionStatus, RecognitionDecision

COLUMNS = ("decision_id", "version", "status", "student_esi", "omobility_id", "host_hei", "home_component",
           "home_component_title", "ects", "converted_grade", "home_scheme_id", "supersedes", "reason")


def row_of(d: RecognitionDecision) -> dict[str, Any]:
    """The flat row every sink writes; ``status`` says whether to book, re-book or cancel the credits."""
    return {"decision_id": d.decision_id, "version": d.version, "status": d.status.value, "student_esi": d.student_esi,
            "omobility_id": d.omobility_id, "host_hei": d.host_hei, "home_component": d.home_component,
            "home_component_title": d.home_component_title, "ects": d.ects, "converted_grade": d.converted_grade,
            "home_scheme_id": d.home_scheme_id, "supersedes": d.supersedes, "reason": d.reason}


class Sink:
    """Where one home institution's recognised credits go. Subclass and implement ``write``::

        class RegistryApiSink(Sink):
            def write(self, decisions, batch_id):
                httpx.post(self.url, json=[row_of(d) for d in decisions],
                           headers={"Idempotency-Key": batch_id}).raise_for_status()

    ``wants`` picks the decisions the SIS books (by default recognised and revoked ones).
    ``batch_id`` names the batch by its Kafka position, the same on a re-delivery.
    """

    kind: ClassVar[str] = "custom"
    statuses: ClassVar[frozenset[DecisionStatus]] = frozenset(
        {DecisionStatus.AUTO_RECOGNISED, DecisionStatus.MANUALLY_RECOGNISED, DecisionStatus.REVOKED})

    def wants(self, decision: RecognitionDecision) -> bool:
        return decision.status in self.statuses

    def write(self, decisions: Sequence[RecognitionDecision], batch_id: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class FileExportSink(Sink):
    """One CSV file per batch in the SIS's import folder, written atomically (temp file, fsync, rename).

    The file is named by the batch's Kafka position, so a re-delivered batch replaces
    its own file instead of adding a second one.
    """

    kind = "file export"

    def __init__(self, folder: str | Path, *, prefix: str = "recognitions", encoding: str = "utf-8",
                 delimiter: str = ";", decimal_separator: str = ",") -> None:
        if len(delimiter) != 1 or decimal_separator not in (".", ","):
            raise ConfigError("file export: delimiter must be one character, decimal_separator '.' or ','")
        self.folder, self.prefix = Path(folder), prefix
        self.encoding, self.delimiter, self.decimal_separator = encoding, delimiter, decimal_separator

    def write(self, decisions: Sequence[RecognitionDecision], batch_id: str) -> None:
        if not decisions:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        out = io.StringIO()
        writer = csv.writer(out, delimiter=self.delimiter, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for d in decisions:
            row = row_of(d)
            writer.writerow([self._cell(row[c]) for c in COLUMNS])
        target = self.folder / f"{self.prefix}-{batch_id}.csv"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".partial-", suffix=".csv")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(out.getvalue().encode(self.encoding, errors="replace"))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _cell(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, Decimal):
            return str(value).replace(".", self.decimal_separator)
        return str(value)


class SqlInsertSink(Sink):
    """Rows into an SIS import table (created if missing), keyed by ``decision_id``: insert, or update a re-delivery."""

    kind = "SQL insert"

    def __init__(self, url: str, table: str = "hub_recognitions") -> None:
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        meta = sa.MetaData()
        self.table = sa.Table(
            table, meta,
            sa.Column("decision_id", sa.String(64), primary_key=True), sa.Column("version", sa.Integer),
            sa.Column("status", sa.String(24)), sa.Column("student_esi", sa.String(255)),
            sa.Column("omobility_id", sa.String(64)), sa.Column("host_hei", sa.String(64)),
            sa.Column("home_component", sa.String(64)), sa.Column("home_component_title", sa.String(255)),
            sa.Column("ects", sa.Numeric(6, 2)), sa.Column("converted_grade", sa.String(16)),
            sa.Column("home_scheme_id", sa.String(64)), sa.Column("supersedes", sa.String(64)),
            sa.Column("reason", sa.Text))
        meta.create_all(self.engine)

    def write(self, decisions: Sequence[RecognitionDecision], batch_id: str) -> None:
        rows = [row_of(d) for d in decisions]
        if not rows:
            return
        key = self.table.c.decision_id
        with self.engine.begin() as con:
            known = {r[0] for r in con.execute(sa.select(key).where(key.in_([r["decision_id"] for r in rows])))}
            for row in rows:
                if row["decision_id"] in known:
                    con.execute(self.table.update().where(key == row["decision_id"]).values(**row))
                else:
                    con.execute(self.table.insert().values(**row))
                    known.add(row["decision_id"])

    def close(self) -> None:
        self.engine.dispose()
