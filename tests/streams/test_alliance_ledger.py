"""End to end: a simulated alliance through every partner connector, the stream workers and the ledger writer.

What ``hub up`` runs, on a broker of its own (the stream workers read the unprefixed
partner topics from their beginning, so they must hold only this alliance): the
simulated SIS served on loopback, the 18 connectors, the faust worker and the ledger
writer.  The ledger must equal the simulator's expected outcomes, which it wrote from
what it generated, not by calling the hub's rules: every (mobility, home component)
with its status and ECTS, no missing, no extra, no duplicated ECTS; and every deadline
alert the simulator expects must be raised.

The connectors deliver a whole year at once, in no particular order across partners,
so a partition's event-time clock can pass a deadline before the ToR that met it in
time is read: the alerts raised early must then be withdrawn.  So every alert left in
the ledger must be one that living through the year raises too (the hub's rules over
the same events in event-time order), and every alert the simulator expects must be there.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600)]

STUDENTS, SEED, MOBILITY_SHARE = 300, 2718, 0.2
TIMEOUT = 300.0


def _expected(folder: Path) -> dict[tuple[str, str], tuple[str, Decimal]]:
    rows = [json.loads(line) for line in (folder / "expected" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    return {(r["omobility_id"], r["home_component"]): (r["status"], Decimal(str(r["ects"]))) for r in rows}


def _expected_alerts(folder: Path) -> set[tuple[str, str, str, str]]:
    rows = [json.loads(line) for line in (folder / "expected" / "deadlines.jsonl").read_text(encoding="utf-8").splitlines()]
    return {(r["omobility_id"], r["deadline"], r["severity"], r["due_on"]) for r in rows}


def _lived_alerts(folder: Path, partitions: int) -> set[tuple[str, str, str, str]]:
    """The alerts of living through the year: the hub's rules over the simulated events in event-time order, one agenda
    (clock) per partition of the students' ESIs, as the stream workers keep them."""
    from aiokafka.partitioner import DefaultPartitioner

    from schemas.canonical import from_json
    from schemas.models import Grade, Mobility
    from streams.monitor import Agenda
    from streams.recognise import RecogniseStep

    lines = (folder / "hub-events.jsonl").read_text(encoding="utf-8").splitlines()
    events = sorted((e for e in map(from_json, lines) if isinstance(e, (Grade, Mobility))), key=lambda e: (e.occurred_at, e.event_id))
    step, partition, everyone = RecogniseStep(), DefaultPartitioner(), list(range(partitions))
    agendas: dict[int, Agenda] = {}
    states: dict = {}
    alerts: set = set()
    for e in events:
        agenda = agendas.setdefault(partition(e.student_esi.encode(), everyone, everyone), Agenda())
        result = step.apply(e.student_esi, states.get(e.student_esi), agenda, e)
        states[e.student_esi] = result.state
        for a in result.alerts:
            key = (a.omobility_id, a.deadline.value, a.severity.value, a.due_on.isoformat())
            (alerts.discard if a.withdrawn else alerts.add)(key)
    return alerts


def _current(ledger) -> dict[tuple[str, str], tuple[str, Decimal]]:
    """The ledger's current decisions; a decision withdrawn by a newer LA version (R4-withdrawn) counts as none."""
    return {(r["omobility_id"], r["home_component"]): (r["status"], Decimal(str(r["ects"]))) for r in ledger.items()
            if r["rule"] != "R4-withdrawn"}


def _alerts(ledger) -> set[tuple[str, str, str, str]]:
    return {(a["omobility_id"], a["deadline"], a["severity"], str(a["due_on"])) for a in ledger.deadline_alerts()}


def test_the_ledger_of_a_simulated_alliance_equals_the_simulators_expected_outcomes(registry_url: str, tmp_path: Path) -> None:
    from hub.broker import EngineUnavailable, ensure_topics, start_broker
    from hub.parts.connectors_part import ConnectorsPart
    from hub.parts.ledger_part import LedgerPart
    from hub.parts.simulation_part import SimulationPart
    from hub.parts.streams_part import StreamsPart
    from hub.runtime import RunContext
    from hub.settings import load_settings
    from hub.simulate import SimulationConfig, simulate
    from streams.ledger import Ledger
    from tests.conftest import require_service

    try:
        broker = start_broker("kafka", tmp_path / "broker", port=0)
    except EngineUnavailable as exc:
        require_service("Apache Kafka (Java >= 17 and its jars)", str(exc))
    ensure_topics(broker.bootstrap_servers, engine=broker.engine)
    folder = tmp_path / "simulation"
    simulate(SimulationConfig(seed=SEED, students=STUDENTS, mobility_share=MOBILITY_SHARE, out=folder, force=True))
    expected, expected_alerts = _expected(folder), _expected_alerts(folder)
    assert len(expected) > 100 and expected_alerts, "the simulation should hold enough decisions and deadlines to compare"
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    settings = load_settings(data_dir=tmp_path, ledger_url=ledger_url)
    ctx = RunContext(settings=settings, data_dir=tmp_path, options={"students": STUDENTS, "seed": SEED},
                     bootstrap_servers=broker.bootstrap_servers, registry_url=registry_url, broker=broker)
    parts = [SimulationPart(), ConnectorsPart(), StreamsPart(), LedgerPart()]
    started: list = []
    ledger = Ledger(ledger_url)
    try:
        for part in parts:
            part.start(ctx)
            started.append(part)
        lived = _lived_alerts(folder, ctx.extras["streams_config"].partitions)
        assert expected_alerts <= lived, "living through the year raises every alert the simulator expects"
        deadline = time.monotonic() + TIMEOUT
        rows: dict = {}
        while time.monotonic() < deadline:
            rows = _current(ledger)
            if rows == expected and expected_alerts <= _alerts(ledger) <= lived:
                break
            time.sleep(1.0)
        time.sleep(2.0)  # anything decided twice or late would arrive now
        rows, alerts = _current(ledger), _alerts(ledger)
    finally:
        for part in reversed(started):
            part.stop()
        broker.stop()
    missing = {k: v for k, v in expected.items() if k not in rows}
    extra = {k: v for k, v in rows.items() if k not in expected}
    wrong = {k: (rows[k], v) for k, v in expected.items() if k in rows and rows[k] != v}
    assert not (missing or extra or wrong), (f"{len(missing)} missing, {len(extra)} extra, {len(wrong)} different of {len(expected)}: "
                                             f"{list(missing.items())[:3]} {list(extra.items())[:3]} {list(wrong.items())[:3]}")
    recognised = sum(e for s, e in expected.values() if s == "AUTO_RECOGNISED")
    assert ledger.totals()["ects_recognised"] == recognised  # no ECTS counted twice
    assert expected_alerts <= alerts, f"{len(expected_alerts - alerts)} expected alerts not raised, e.g. {sorted(expected_alerts - alerts)[:5]}"
    assert alerts <= lived, f"alerts living through the year would not raise: {sorted(alerts - lived)[:5]}"
    print(f"\n{len(expected)} decisions as expected; {len(expected_alerts)} expected alerts raised, "
          f"{len(alerts - expected_alerts)} more that living through the year raises too")
