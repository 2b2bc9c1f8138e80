"""The ledger database on its own: idempotent batches with offsets, LA versions, and the same rows on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bench.alliance import alliance, in_hub_terms
from schemas.models import DeadlineAlert, Mobility, MobilityStatus, RecognitionDecision
from streams.ledger import Batch, Ledger
from streams.recognition import RecognitionEngine

PG_URL = "postgresql+psycopg2://postgres:postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def events():
    hub_events = in_hub_terms(alliance(60, seed=3))
    decisions = RecognitionEngine().run(hub_events)
    mobility_events = [e for e in hub_events if isinstance(e, Mobility)]  # every lifecycle: only LA versions are stored
    status = MobilityStatus(source_hei="hub", occurred_at=datetime(2026, 2, 1, tzinfo=UTC), omobility_id=decisions[0].omobility_id,
                            student_esi=decisions[0].student_esi, sending_hei=decisions[0].home_hei, receiving_hei=decisions[0].host_hei,
                            state="TOR_ISSUED", la_version=1, ects_planned=Decimal(15), ects_recognised=Decimal("7.5"))
    alert = DeadlineAlert(source_hei="hub", occurred_at=datetime(2026, 3, 1, tzinfo=UTC), alert_id=str(uuid.uuid4()),
                          omobility_id=decisions[0].omobility_id, sending_hei="hh.se", receiving_hei="ucn.dk", deadline="TOR_ISSUE",
                          severity="WARNING", responsible_hei="ucn.dk", due_on=date(2026, 3, 8), days_left=7)
    return decisions + [status, alert] + mobility_events


def _fill(ledger: Ledger, events, size: int, consumer: str = "c") -> None:
    for i in range(0, len(events), size):
        chunk = events[i:i + size]
        ledger.write(Batch.of(chunk, {("hub.recognitions", 0): i + len(chunk)}), consumer)


def _snapshot(ledger: Ledger) -> dict:
    items = sorted((r["omobility_id"], r["home_component"], r["decision_id"], r["version"], r["status"], str(r["ects"]), r["converted_grade"])
                   for r in ledger.items())
    hist = sorted((h["decision_id"], h["version"], h["status"], h["reason"], repr(h["provenance"]))
                  for m in {r[0] for r in items} for h in ledger.history(m))
    return {"items": items, "history": hist, "totals": ledger.totals(),
            "mobilities": sorted((m, (ledger.mobility(m) or {}).get("state")) for m in {r[0] for r in items}),
            "alerts": len(ledger.deadline_alerts()),
            "agreements": sorted((m, la.version, la.model_dump_json()) for m in {r[0] for r in items} for la in ledger.learning_agreements(m))}


def test_batches_written_twice_or_split_differently_give_the_same_rows(tmp_path, events):
    once, twice = Ledger(f"sqlite:///{tmp_path}/a.sqlite"), Ledger(f"sqlite:///{tmp_path}/b.sqlite")
    _fill(once, events, 500)
    _fill(twice, events, 37)
    _fill(twice, events, 37)  # a crash after the rows but before... nothing: rows and offsets commit together
    assert _snapshot(once) == _snapshot(twice)
    assert once.stored_offsets("c") == {("hub.recognitions", 0): len(events)}
    recognised = {}
    for d in (e for e in events if isinstance(e, RecognitionDecision)):
        recognised[(d.omobility_id, d.home_component)] = d
    expected = sum(d.ects for d in recognised.values() if d.status.value in ("AUTO_RECOGNISED", "MANUALLY_RECOGNISED"))
    assert once.totals()["ects_recognised"] == expected


def test_every_approved_la_version_is_stored_once(tmp_path, events):
    ledger = Ledger(f"sqlite:///{tmp_path}/la.sqlite")
    _fill(ledger, events, 41)
    approved = [e for e in events if isinstance(e, Mobility) and e.lifecycle.value in ("LA_APPROVED", "LA_CHANGED")]
    changed = next(e for e in approved if e.lifecycle.value == "LA_CHANGED")
    stored = ledger.learning_agreements(changed.omobility_id)
    assert [la.version for la in stored] == [1, 2]
    assert stored[1] == changed.learning_agreement  # components with ECTS and conditions, groups, approved_at
    assert sum(len(ledger.learning_agreements(m)) for m in {e.omobility_id for e in approved}) == len(approved)


def _later_la_wins(events, open_ledger) -> None:
    first = next(e for e in events if isinstance(e, Mobility) and e.lifecycle.value == "LA_APPROVED")
    la = first.learning_agreement
    fixed = la.model_copy(update={"components_studied": la.components_studied[:1]})
    later = first.model_copy(update={"event_id": str(uuid.uuid4()), "occurred_at": first.occurred_at + timedelta(hours=1), "learning_agreement": fixed})
    for name, order in (("a", [first, later]), ("b", [later, first]), ("c", [later, first, later]), ("d", [first, first])):
        ledger = open_ledger(name)
        for e in order:  # one event per batch: the order of arrival varies, not only the order within a batch
            ledger.write(Batch.of([e], {}), "c")
        assert ledger.learning_agreements(first.omobility_id) == [first.learning_agreement if name == "d" else fixed], name
        ledger.close()


def test_of_two_events_with_one_la_version_the_later_wins_in_any_order(tmp_path, events):
    _later_la_wins(events, lambda name: Ledger(f"sqlite:///{tmp_path}/{name}.sqlite"))


@pytest.mark.postgres
def test_postgresql_gives_the_same_rows_as_sqlite(tmp_path, events):
    from tests.conftest import require_service

    try:
        pg = Ledger(PG_URL)
    except Exception as exc:  # noqa: BLE001 - any failure to connect means the service is missing
        require_service("PostgreSQL on 127.0.0.1:5432 (bash deploy/dev-services start)", str(exc))
    from streams.ledger import metadata

    metadata.drop_all(pg.engine)
    metadata.create_all(pg.engine)
    lite = Ledger(f"sqlite:///{tmp_path}/l.sqlite")
    _fill(pg, events, 53)
    _fill(pg, events, 211)
    _fill(lite, events, 1000)
    assert _snapshot(pg) == _snapshot(lite)

    def fresh(_name: str) -> Ledger:
        metadata.drop_all(pg.engine)
        metadata.create_all(pg.engine)
        return Ledger(PG_URL)

    _later_la_wins(events, fresh)
    metadata.drop_all(pg.engine)
    pg.close()


def test_a_withdrawn_alert_leaves_the_ledger_and_the_last_word_on_an_alert_counts(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path}/alerts.sqlite")
    raised = DeadlineAlert(source_hei="hub", occurred_at=datetime(2026, 3, 1, tzinfo=UTC), alert_id="a-1", omobility_id="m-1",
                           sending_hei="hh.se", receiving_hei="ucn.dk", deadline="TOR_ISSUE", severity="WARNING",
                           responsible_hei="ucn.dk", due_on=date(2026, 3, 8), days_left=7)
    other = DeadlineAlert(**{**raised.model_dump(), "alert_id": "a-2", "severity": "BREACH", "event_id": str(uuid.uuid4())})
    withdrawal = DeadlineAlert(**{**raised.model_dump(), "withdrawn": True, "event_id": str(uuid.uuid4())})
    ledger.write(Batch.of([raised, other], {("hub.deadlines", 0): 2}), "c")
    assert {a["alert_id"] for a in ledger.deadline_alerts()} == {"a-1", "a-2"}
    ledger.write(Batch.of([withdrawal], {("hub.deadlines", 0): 3}), "c")
    assert {a["alert_id"] for a in ledger.deadline_alerts()} == {"a-2"}
    ledger.write(Batch.of([raised, withdrawal], {("hub.deadlines", 0): 5}), "c")  # a replay of the same records
    assert {a["alert_id"] for a in ledger.deadline_alerts()} == {"a-2"}
    ledger.write(Batch.of([withdrawal, raised], {("hub.deadlines", 0): 7}), "c")  # the deadline opened again and fired
    assert {a["alert_id"] for a in ledger.deadline_alerts()} == {"a-1", "a-2"}
    ledger.close()
