"""End to end on the session broker: partner topics -> stream workers -> ledger, compared with the expected decisions.

The alliance is ~300 students (about 3,500 events).  The expected decisions are
the pure rules' final decision per (mobility, home component) on the events in
hub terms; the pipeline must add nothing, lose nothing and count no ECTS twice,
whatever the delivery order and however often an event is delivered.
"""

from __future__ import annotations

import time

import pytest

from bench.alliance import alliance, expected_decisions, shuffled_within_partitions
from schemas.catalogue import LIFECYCLE_HEADER
from schemas.models import Mobility

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

STUDENTS = 300


@pytest.fixture(scope="module")
def events():
    return alliance(STUDENTS, seed=11)


@pytest.fixture(scope="module")
def expected(events):
    exp = expected_decisions(events)
    assert len(exp) > 400  # the alliance decides something for most components
    return exp


def _diff(expected: dict, rows: dict) -> str:
    missing = sorted(set(expected) - set(rows))[:5]
    extra = sorted(set(rows) - set(expected))[:5]
    wrong = [(k, expected[k], rows[k]) for k in expected if k in rows and rows[k] != expected[k]][:5]
    return f"missing {len(set(expected) - set(rows))} e.g. {missing}; extra {len(set(rows) - set(expected))} e.g. {extra}; wrong e.g. {wrong}"


ENGINES = pytest.mark.parametrize("recognise", ["stage", "faust"])  # recognise as a plain Kafka stage or as a faust agent


@ENGINES
def test_ledger_equals_expected_decisions(pipeline, events, expected, recognise):
    p = pipeline(workers=1, recognise=recognise)
    p.publish(events)
    rows = p.wait_for(expected)
    assert rows == expected, _diff(expected, rows)
    totals = p.ledger.totals()
    assert totals["ects_recognised"] == sum(e for s, e in expected.values() if s in ("AUTO_RECOGNISED", "MANUALLY_RECOGNISED"))
    statuses = {m["omobility_id"] for m in [p.ledger.mobility(k[0]) for k in list(expected)[:20]] if m}
    assert len(statuses) >= 10  # the monitor's status lines reached the ledger too
    assert not [d for d in p.dead_letters(timeout=2) if d.error_kind != "unknown-student"]
    mobilities = p.records("hub.mobilities", timeout=2)
    assert len(mobilities) >= len([e for e in events if isinstance(e, Mobility)]) * 0.9
    # each names its lifecycle in a header, so the ledger reads past those that approve no LA
    assert all(dict(m.headers)[LIFECYCLE_HEADER] == e.lifecycle.value.encode() for m, e in mobilities)


@ENGINES
def test_every_event_twice_and_shuffled_within_partitions_gives_the_same_ledger(pipeline, events, expected, recognise):
    p = pipeline(workers=1, recognise=recognise)
    twice = shuffled_within_partitions(events + events, p.cfg.partitions, seed=5, prefix=p.cfg.topic_prefix)
    p.publish(twice)
    rows = p.wait_for(expected)
    assert rows == expected, _diff(expected, rows)
    history = p.ledger.totals()["history"]
    assert history >= len(expected)


@ENGINES
def test_two_workers_share_the_partitions_and_give_the_same_ledger_as_one(pipeline, events, expected, recognise):
    """Two of each process; a third of the way in, the second of each (w2, n2 and r2 or the faust w2 that recognises) is
    killed and rejoins: rebalances while events flow, in every consumer group."""
    p = pipeline(workers=2, recognise=recognise)
    deliveries = shuffled_within_partitions(events + events, p.cfg.partitions, seed=7, prefix=p.cfg.topic_prefix)
    third = len(deliveries) // 3
    p.publish(deliveries[:third])
    time.sleep(1.5)
    second = [name for name in p.supervisor.children if name.endswith("2")]
    assert len(second) == (3 if recognise == "stage" else 2)
    for name in second:
        p.supervisor.kill(name)
    p.publish(deliveries[third:])
    rows = p.wait_for(expected)
    assert rows == expected, _diff(expected, rows)
    assert {r.split(" ")[0] for r in p.supervisor.restarts} >= set(second), p.supervisor.restarts


def test_rocksdb_tables_give_the_same_ledger(pipeline, events, expected):
    """recognise in faust with its tables on disk (rocksdict) instead of in memory."""
    pytest.importorskip("rocksdict", reason="rocksdict is not installed: pip install -e '.[rocksdb]'")
    p = pipeline(workers=1, store="rocksdb", recognise="faust")
    p.publish(events)
    rows = p.wait_for(expected)
    assert rows == expected, _diff(expected, rows)
    assert list(p.cfg.data_dir.glob("streams/w*/v*/tables/students-*.db/CURRENT")), "no RocksDB store was written"


@ENGINES
def test_exactly_once_processing_gives_the_same_ledger(pipeline, apache_kafka, events, expected, recognise):
    """exactly_once (Kafka transactions per stage batch, or faust's; the ledger reads committed records only) on Apache Kafka."""
    p = pipeline(workers=1, processing_guarantee="exactly_once", recognise=recognise)
    p.publish(events)
    rows = p.wait_for(expected)
    assert rows == expected, _diff(expected, rows)
    assert not p.supervisor.restarts, p.supervisor.restarts  # no child crash-looped meanwhile
    assert p.ledger.totals()["ects_recognised"] == sum(e for s, e in expected.values() if s == "AUTO_RECOGNISED")
