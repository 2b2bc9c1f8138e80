"""The ledger database: idempotent batch writes with their Kafka offsets, and the registrars' queries.

    >>> ledger = Ledger("sqlite:///ledger.sqlite")           # doctest: +SKIP
    >>> ledger.items("hh.se", status="NEEDS_REVIEW")         # doctest: +SKIP

SQLite (default) and PostgreSQL run the same statements: ``INSERT ... ON CONFLICT``
upserts keyed by decision id and version, mobility id, alert id and (mobility, LA
version), so writing a batch twice changes nothing; the offsets go in the same
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from schemas.catalogue import LIFECYCLE_HEADER
from schemas.models import (
    DeadlineAlert,
    Event,
    LearningAgreement,
    Mobility,
    MobilityLifecycle,
    MobilityStatus,
    RecognitionDecision,
    to_avro,
)
from streams.ledger.schema import (
    agreements,
    alerts,
    decisions,
    history,
    metadata,
    mobilities,
    offsets,
)

__all__ = ["RECOGNISED", "Batch", "Ledger", "LedgerUnavailable", "agreement_of"]

RECOGNISED = ("AUTO_RECOGNISED", "MANUALLY_RECOGNISED")
_LA_EVENTS = (MobilityLifecycle.LA_APPROVED, MobilityLifecycle.LA_CHANGED)


_LA_SYMBOLS = frozenset(e.value for e in _LA_EVENTS)
_LA_HEADERS = frozenset(e.value.encode() for e in _LA_EVENTS)


def carries_agreement(record: dict[str, Any]) -> bool:
    """Whether a ``hub.mobilities`` record (as Avro decoded it) approves an LA version, the only ones the ledger keeps."""
    return record.get("lifecycle") in _LA_SYMBOLS and record.get("learning_agreement") is not None


def may_carry_agreement(headers) -> bool:
    """False when a ``hub.mobilities`` record's lifecycle header says it approves no LA (it can be read past undecoded)."""
    for name, value in headers or ():
        if name == LIFECYCLE_HEADER:
            return value in _LA_HEADERS
    return True


class LedgerUnavailable(RuntimeError):
    """The ledger database cannot be reached or written; fix HUB_LEDGER_URL or start the database."""


@dataclass
class Batch:
    """What one poll of the ledger writer brings: rows' sources by kind and the next offset per (topic, partition).

    Decisions, status lines and alerts are kept as Avro records (what the writer decoded, or :func:`to_avro` of a
    model): the recogniser built and validated them, and turning a decision back into a model cost the ledger more
    than writing it.  ``agreements`` are the mobility events that approve an LA version (``LA_APPROVED``,
    ``LA_CHANGED``), as Avro records too (the normaliser validated them); other mobility events are read past
    (their offsets still count)."""

    decisions: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    next_offsets: dict[tuple[str, int], int]
    agreements: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, events: Iterable[Event], next_offsets: dict[tuple[str, int], int]) -> Batch:
        b = cls([], [], [], dict(next_offsets))
        for e in events:
            b.add(e)
        return b

    def add(self, e: Event) -> None:
        if isinstance(e, (RecognitionDecision, MobilityStatus, DeadlineAlert)):
            self.add_record(e.record_name, to_avro(e))
        elif isinstance(e, Mobility) and e.lifecycle in _LA_EVENTS and e.learning_agreement is not None:
            self.agreements.append(to_avro(e))

    def add_record(self, record_name: str, record: dict[str, Any]) -> None:
        """Add a decision, status line or alert as Avro decoded it (KeyError for other records: they need :meth:`add`)."""
        self.records_of(record_name).append(record)

    def records_of(self, record_name: str) -> list[dict[str, Any]]:
        """The list that decisions, status lines or alerts (by record name) go to (KeyError for other records)."""
        return getattr(self, _KINDS[record_name])

    def __len__(self) -> int:
        """The rows' sources it holds."""
        return len(self.decisions) + len(self.statuses) + len(self.alerts) + len(self.agreements)


_KINDS = {"RecognitionDecision": "decisions", "MobilityStatus": "statuses", "DeadlineAlert": "alerts"}


def _engine(url: str) -> Engine:
    try:
        # a ping before each use finds a dropped PostgreSQL connection; a SQLite file has none to drop
        engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    except (SQLAlchemyError, ImportError) as exc:
        raise LedgerUnavailable(f"cannot use ledger database {url!r}: {exc}; set HUB_LEDGER_URL to a SQLAlchemy URL") from exc
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # readers (CLI, web) and the writer share the file
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    return engine


class _Bulk:
    """An upsert compiled once, run with rows turned into the driver's parameters by the columns' own bind processors.

    SQLAlchemy's executemany builds and processes every row's parameters in Python
    again (about half the SQL work of a ledger batch on SQLite); this does the same
    conversions (the dialect's processors: datetimes and dates to SQLite's text, ECTS
    to float) once per value.  With a row spec (:data:`_ROWS`) it takes the Avro
    records themselves: one ``itemgetter`` picks a record's fields in the statement's
    order, so no row dict is built.  Used on SQLite; on PostgreSQL SQLAlchemy batches
    the rows into multi-row statements, which a plain driver executemany would not.
    """

    def __init__(self, stmt, table: sa.Table, dialect, spec: tuple[_Column, ...] | None = None) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=[c.name for c in table.columns])
        if not compiled.positional:
            raise ValueError(f"{dialect.name} does not take positional parameters")
        self.sql = compiled.string
        sources = {column: (source, convert) for column, source, convert in spec or ()}
        fields, self.conversions = [], []
        for i, name in enumerate(compiled.positiontup):
            source, convert = sources.get(name, (name, None))
            fields.append(source)
            fn = _then(convert, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
            if fn is not None:
                self.conversions.append((i, fn))
        self.fields = itemgetter(*fields)

    def run(self, conn, rows: list[dict[str, Any]]) -> None:
        conn.exec_driver_sql(self.sql, self.params(rows))

    def params(self, rows: list[dict[str, Any]]) -> list:
        fields, conversions = self.fields, self.conversions
        if not conversions:
            return [fields(row) for row in rows]
        params = []
        for row in rows:
            values = list(fields(row))
            for i, fn in conversions:
                values[i] = fn(values[i])
            params.append(tuple(values))
        return params


def _then(first: Callable[[Any], Any] | None, second: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """``second(first(value))``, either of them possibly absent."""
    if first is None or second is None:
        return first or second
    return lambda value: second(first(value))


class Ledger:
    """One ledger database (SQLAlchemy URL); creates its tables on first use."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.engine = _engine(url)
        if self.engine.dialect.name not in ("sqlite", "postgresql"):
            raise LedgerUnavailable(f"the ledger runs on SQLite or PostgreSQL, not {self.engine.dialect.name}")
        self._insert = sqlite.insert if self.engine.dialect.name == "sqlite" else postgresql.insert
        self._bulk: dict[str, _Bulk] | None = {} if self.engine.dialect.name == "sqlite" else None
        if create:
            try:
                metadata.create_all(self.engine)
                with self.engine.begin() as conn:  # indexes added since a table was created
                    for table in metadata.sorted_tables:
                        for index in table.indexes:
                            index.create(conn, checkfirst=True)
            except SQLAlchemyError as exc:
                raise LedgerUnavailable(f"cannot create the ledger tables in {self.engine.url!r}: {exc}") from exc

    def close(self) -> None:
        self.engine.dispose()

    # --- writing -----------------------------------------------------------------------

    def stored_offsets(self, consumer: str) -> dict[tuple[str, int], int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(offsets.c.topic, offsets.c.partition, offsets.c.next_offset).where(offsets.c.consumer == consumer))
            return {(r.topic, r.partition): r.next_offset for r in rows}

    def _execute(self, conn, name: str, stmt, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Run the upsert ``stmt`` (one per ``name``, the same statement every time) for ``rows``.

        ``rows`` are Avro records for the tables :data:`_ROWS` names (their spec makes the rows), else rows."""
        spec = _ROWS.get(name)
        if self._bulk is None:
            conn.execute(stmt, rows if spec is None else [_row(spec, r) for r in rows])
            return
        bulk = self._bulk.get(name)
        if bulk is None:
            bulk = self._bulk[name] = _Bulk(stmt, table, self.engine.dialect, spec)
        bulk.run(conn, rows)

    def write(self, batch: Batch, consumer: str) -> None:
        """Upsert the batch's rows and its offsets in one transaction."""
        ins = self._insert
        with self.engine.begin() as conn:
            if batch.decisions:
                hist = {(d["decision_id"], d["version"]): d for d in batch.decisions}
                stmt = ins(history).on_conflict_do_nothing(index_elements=["decision_id", "version"])
                self._execute(conn, "history", stmt, history, list(hist.values()))
                current: dict[tuple[str, str], dict[str, Any]] = {}
                for d in batch.decisions:
                    key = (d["omobility_id"], d["home_component"])
                    if key not in current or d["version"] >= current[key]["version"]:
                        current[key] = d
                stmt = ins(decisions)
                cols = {c.name: stmt.excluded[c.name] for c in decisions.columns if c.name not in ("omobility_id", "home_component")}
                stmt = stmt.on_conflict_do_update(index_elements=["omobility_id", "home_component"], set_=cols,
                                                  where=stmt.excluded.version > decisions.c.version)
                self._execute(conn, "decisions", stmt, decisions, list(current.values()))
            if batch.statuses:
                latest = {s["omobility_id"]: s for s in batch.statuses}
                stmt = ins(mobilities)
                stmt = stmt.on_conflict_do_update(index_elements=["omobility_id"],
                                                  set_={c.name: stmt.excluded[c.name] for c in mobilities.columns if c.name != "omobility_id"})
                self._execute(conn, "mobilities", stmt, mobilities, list(latest.values()))
            if batch.alerts:
                self._write_alerts(conn, ins, batch.alerts)
            if batch.agreements:
                # one row per (mobility, version); of two events carrying one version the later wins, as in the recogniser
                latest_la: dict[tuple[str, int], dict[str, Any]] = {}
                for m in batch.agreements:
                    key = (m["omobility_id"], m["learning_agreement"]["version"])
                    if key not in latest_la or (m["occurred_at"], m["event_id"]) > (latest_la[key]["occurred_at"], latest_la[key]["event_id"]):
                        latest_la[key] = m
                stmt = ins(agreements)
                newer = sa.or_(stmt.excluded.occurred_at > agreements.c.occurred_at,
                               sa.and_(stmt.excluded.occurred_at == agreements.c.occurred_at, stmt.excluded.event_id > agreements.c.event_id))
                stmt = stmt.on_conflict_do_update(index_elements=["omobility_id", "version"], where=newer,
                                                  set_={c.name: stmt.excluded[c.name] for c in agreements.columns
                                                        if c.name not in ("omobility_id", "version")})
                self._execute(conn, "agreements", stmt, agreements, [_agreement_row(m) for m in latest_la.values()])
            if batch.next_offsets:
                stmt = ins(offsets)
                stmt = stmt.on_conflict_do_update(index_elements=["consumer", "topic", "partition"],
                                                  set_={"next_offset": stmt.excluded.next_offset})
                self._execute(conn, "offsets", stmt, offsets, [{"consumer": consumer, "topic": t, "partition": p, "next_offset": o}
                                                                for (t, p), o in batch.next_offsets.items()])

    # --- reading -------------------------------------------------------------------------

    def _write_alerts(self, conn, ins, batch_alerts: list[dict[str, Any]]) -> None:
        """Raise alerts and delete withdrawn ones; the last word on an alert id in the batch counts (they come in order)."""
        last = {a["alert_id"]: a for a in batch_alerts}
        gone = [k for k, a in last.items() if a["withdrawn"]]
        if gone:
            conn.execute(alerts.delete().where(alerts.c.alert_id.in_(gone)))
        rows = [a for a in last.values() if not a["withdrawn"]]
        if rows:
            self._execute(conn, "alerts", ins(alerts).on_conflict_do_nothing(index_elements=["alert_id"]), alerts, rows)

    def items(self, home_hei: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Current decisions (one per mobility and home component), optionally of one home HEI and status."""
        q = select(decisions).order_by(decisions.c.omobility_id, decisions.c.home_component)
        if home_hei:
            q = q.where(decisions.c.home_hei == home_hei)
        if status:
            q = q.where(decisions.c.status == status)
        return self._rows(q)

    def export(self, home_hei: str, *, recognised_only: bool = True) -> list[dict[str, Any]]:
        """What the home SIS imports: recognised credits (or every current item)."""
        q = select(decisions).where(decisions.c.home_hei == home_hei).order_by(decisions.c.student_esi, decisions.c.omobility_id, decisions.c.home_component)
        if recognised_only:
            q = q.where(decisions.c.status.in_(RECOGNISED))
        return self._rows(q)

    def mobility(self, omobility_id: str) -> dict[str, Any] | None:
        rows = self._rows(select(mobilities).where(mobilities.c.omobility_id == omobility_id))
        return rows[0] if rows else None

    def history(self, omobility_id: str) -> list[dict[str, Any]]:
        q = select(history).where(history.c.omobility_id == omobility_id).order_by(history.c.home_component, history.c.version)
        rows = self._rows(q)
        for r in rows:
            r["provenance"] = json.loads(r["provenance"])
        return rows

    def decision(self, decision_id: str) -> dict[str, Any] | None:
        """The history row of a decision id (its latest version), with whether it is still current."""
        q = select(history).where(history.c.decision_id == decision_id).order_by(history.c.version.desc()).limit(1)
        rows = self._rows(q)
        if not rows:
            return None
        row = rows[0]
        cur = self._rows(select(decisions.c.decision_id).where(decisions.c.omobility_id == row["omobility_id"],
                                                               decisions.c.home_component == row["home_component"]))
        row["current"] = bool(cur) and cur[0]["decision_id"] == decision_id
        return row

    def learning_agreements(self, omobility_id: str) -> list[LearningAgreement]:
        """Every approved LA version of a mobility, oldest first."""
        q = select(agreements).where(agreements.c.omobility_id == omobility_id).order_by(agreements.c.version)
        return [agreement_of(r) for r in self._rows(q)]

    def student_of(self, omobility_id: str) -> str | None:
        for table in (mobilities, decisions):
            rows = self._rows(select(table.c.student_esi).where(table.c.omobility_id == omobility_id).limit(1))
            if rows:
                return rows[0]["student_esi"]
        return None

    def deadline_alerts(self, responsible_hei: str | None = None) -> list[dict[str, Any]]:
        q = select(alerts).order_by(alerts.c.raised_at, alerts.c.alert_id)
        if responsible_hei:
            q = q.where(alerts.c.responsible_hei == responsible_hei)
        return self._rows(q)

    def totals(self) -> dict[str, Any]:
        """Counts and recognised ECTS, for checks and benchmarks."""
        with self.engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(decisions)).scalar_one()
            h = conn.execute(select(func.count()).select_from(history)).scalar_one()
            ects = conn.execute(select(func.coalesce(func.sum(decisions.c.ects), 0)).where(decisions.c.status.in_(RECOGNISED))).scalar_one()
        return {"current": n, "history": h, "ects_recognised": Decimal(str(ects)).quantize(Decimal("0.01"))}

    def _rows(self, q) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]


_Column = tuple[str, str, Callable[[Any], Any] | None]  # a row's column, the record's field it holds, how it is turned into it


def _row(spec: tuple[_Column, ...], record: dict[str, Any]) -> dict[str, Any]:
    return {column: record[source] if convert is None else convert(record[source]) for column, source, convert in spec}


def provenance_json(provenance: dict[str, Any]) -> str:
    """A decision's provenance (as Avro decodes it) as the JSON text the ledger keeps: the values pydantic's JSON of
    the model has, ECTS as numbers.  orjson writes it in a fifth of the json module's time, the same text for every
    ECTS and every double from 1e-4 to 1e16 (beyond, e.g. ``1e-5`` for ``1e-05``, which reads the same; NaN is
    ``null``, as in pydantic's JSON)."""
    return orjson.dumps(provenance, default=_json_number).decode()


def _json_number(value: Any) -> float:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not part of a decision's provenance or an LA")


def _same(*columns: str) -> tuple[_Column, ...]:
    return tuple((c, c, None) for c in columns)


_CURRENT = _same("omobility_id", "home_component", "decision_id", "version", "status", "ects", "converted_grade",
                 "home_scheme_id", "home_hei", "host_hei", "student_esi", "home_component_title", "rule", "reason",
                 "decided_by", "occurred_at")
_HISTORY = (tuple(c for c in _CURRENT if c[0] != "home_component_title")
            + _same("supersedes", "event_id", "trace_id") + (("provenance", "provenance", provenance_json),))
_STATUS = _same("omobility_id", "student_esi", "sending_hei", "receiving_hei", "state", "la_version", "ects_planned",
                "ects_recognised", "started_on", "ended_on", "tor_issued_on", "occurred_at") + (("status_event_id", "event_id", None),)
_ALERT = _same("alert_id", "omobility_id", "sending_hei", "receiving_hei", "deadline", "severity", "responsible_hei", "due_on",
               "days_left") + (("raised_at", "occurred_at", None),)
_ROWS = {"history": _HISTORY, "decisions": _CURRENT, "mobilities": _STATUS, "alerts": _ALERT}  # tables written from Avro records


def _current_row(d: dict[str, Any]) -> dict[str, Any]:
    return _row(_CURRENT, d)


def _history_row(d: dict[str, Any]) -> dict[str, Any]:
    return _row(_HISTORY, d)


def _status_row(s: dict[str, Any]) -> dict[str, Any]:
    return _row(_STATUS, s)


def _alert_row(a: dict[str, Any]) -> dict[str, Any]:
    return _row(_ALERT, a)


def _agreement_row(m: dict[str, Any]) -> dict[str, Any]:
    la = m["learning_agreement"]
    return {
        "omobility_id": m["omobility_id"], "version": la["version"], "student_esi": m["student_esi"], "sending_hei": m["sending_hei"],
        "receiving_hei": m["receiving_hei"], "changes_id": la["changes_id"], "approved_at": la["approved_at"],
        "components_studied": _json_list(la["components_studied"]), "components_recognized": _json_list(la["components_recognized"]),
        "recognition_groups": _json_list(la["recognition_groups"]),
        "ects_studied": sum((c["ects"] for c in la["components_studied"]), Decimal(0)),
        "ects_recognized": sum((c["ects"] for c in la["components_recognized"]), Decimal(0)),
        "occurred_at": m["occurred_at"], "event_id": m["event_id"],
    }


def _json_list(items: list[dict[str, Any]]) -> str:
    """LA components or groups (Avro records) as the JSON text of their models' ``model_dump(mode="json")``: fields
    in schema order, ECTS as numbers, all but printable ASCII escaped (orjson's text when it has no other, else the
    json module's: orjson leaves non-ASCII and DEL as they are)."""
    text = orjson.dumps(items, default=_json_number)
    if text.isascii() and b"\x7f" not in text:
        return text.decode()
    return json.dumps(items, separators=(",", ":"), default=_json_number)


def agreement_of(row: Any) -> LearningAgreement:
    """A ``ledger_learning_agreements`` row (mapping or SQLAlchemy row) back into the LA it was written from."""
    get = row.__getitem__ if isinstance(row, dict) else row._mapping.__getitem__
    approved = get("approved_at")
    if approved.tzinfo is None:  # SQLite hands back naive datetimes; the ledger writes UTC
        approved = approved.replace(tzinfo=UTC)
    return LearningAgreement(version=get("version"), changes_id=get("changes_id"), approved_at=approved,
                             components_studied=json.loads(get("components_studied")),
                             components_recognized=json.loads(get("components_recognized")),
                             recognition_groups=json.loads(get("recognition_groups")))
