"""A simulated alliance of 200 students published through every partner connector to the session's Apache Kafka.

The ``hub up`` parts do the work (simulated SIS served on loopback, VIKO's posts replayed,
18 connectors in threads); the test reads ``sis.*`` and ``hub.dlq`` back from the offsets
they had before it started. Every good record of the simulation is on its topic exactly
once (by event id: a redelivered record keeps its id), and every bad one is a dead letter
with a reason; for the file, SQL and webhook partners each bad record is found by where
the simulator put it and its dead letter names what was wrong with it.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from hub.parts.connectors_part import ConnectorsPart
from hub.parts.simulation_part import SimulationPart
from hub.runtime import RunContext
from hub.settings import load_settings
from schemas.catalogue import SIS_KINDS, sis_topic
from schemas.institutions import SCHAC_CODES

STUDENTS, SEED = 200, 424242
DLQ = "hub.dlq"
TIMEOUT = 120.0
# simulator's kind of bad record -> the dead letter's error_kind, for the partners whose records are found one by one
KINDS: dict[str, dict[str, str]] = {
    "th-deg.de": {"broken_csv": "parse", "wrong_encoding": "encoding", "unknown_grade_label": "unknown_grade",
                  "unknown_course": "unknown_course", "invalid_record": "invalid_record"},
    "mendelu.cz": {"broken_xml": "parse", "wrong_encoding": "parse", "unknown_grade_label": "unknown_grade",
                   "unknown_course": "unknown_course"},
    "ucn.dk": {"invalid_record": "invalid_record", "unknown_grade_label": "unknown_grade",
               "unknown_course": "unknown_course", "unknown_institution": "unknown_institution"},
    "viko.lt": {"broken_json": "parse", "wrong_encoding": "parse", "unknown_grade_label": "unknown_grade",
                "unknown_course": "unknown_course", "unknown_institution": "unknown_institution"},
}
KINDS["ipbeja.pt"] = KINDS["ucn.dk"]


class Topics:
    """What arrives on the sis.* topics and hub.dlq from given offsets on, decoded, distinct by event id."""

    def __init__(self, bootstrap_servers: str, registry_url: str) -> None:
        from kafka import KafkaConsumer, TopicPartition

        from schemas.registry_client import RegistryClient
        from schemas.serde import AvroDeserializer

        self.topics = [sis_topic(h, k) for h in SCHAC_CODES for k in SIS_KINDS] + [DLQ]
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers.split(","), enable_auto_commit=False,
                                      group_id=None, request_timeout_ms=30_000)
        parts = [TopicPartition(t, p) for t in self.topics for p in sorted(self.consumer.partitions_for_topic(t) or ())]
        self.consumer.assign(parts)
        for tp, offset in self.consumer.end_offsets(parts).items():  # only what this test makes
            self.consumer.seek(tp, offset)
        self.registry = RegistryClient(registry_url)
        self.deserializer = AvroDeserializer(self.registry)
        self.events: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # topic -> event id -> event
        self.messages = 0

    def poll(self) -> None:
        for tp, records in self.consumer.poll(timeout_ms=500, max_records=5000).items():
            for r in records:
                event = self.deserializer.deserialize(r.value, tp.topic, r.partition, r.offset)
                self.events[tp.topic][str(event["event_id"])] = event
                self.messages += 1

    def distinct(self) -> dict[str, int]:
        return {topic: len(events) for topic, events in self.events.items() if events and topic != DLQ}

    def close(self) -> None:
        self.consumer.close()
        self.registry.close()


def _expected(counts: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Good records per sis topic, and bad records per source (``<hei>/sis``, ``<hei>/ewp``)."""
    good: Counter[str] = Counter()
    for source, c in counts["sources"].items():
        hei = source.split("/")[0]
        for kind, n in c["good"].items():
            good[sis_topic(hei, kind)] += n
    return {t: n for t, n in good.items() if n}, {source: c["bad"] for source, c in counts["sources"].items()}


@pytest.mark.kafka
@pytest.mark.slow
def test_every_good_record_once_on_its_topic_every_bad_one_a_dead_letter(apache_kafka: Any, registry: Any,
                                                                         tmp_path: Path) -> None:
    topics = Topics(apache_kafka.bootstrap_servers, registry.url)
    ctx = RunContext(settings=load_settings(data_dir=tmp_path), data_dir=tmp_path,
                     options={"students": STUDENTS, "seed": SEED},
                     bootstrap_servers=apache_kafka.bootstrap_servers, registry_url=registry.url)
    simulation, connectors = SimulationPart(), ConnectorsPart()
    try:
        simulation.start(ctx)
        started = time.monotonic()
        where = connectors.start(ctx)
        assert "not wired" not in where, where  # every partner module runs under hub up
        counts = ctx.extras["simulation"].counts
        good, bad = _expected(counts)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            topics.poll()
            if topics.distinct() == good and len(topics.events[DLQ]) >= sum(bad.values()):
                break
        seconds = time.monotonic() - started
        assert connectors.problems() == {}, connectors.problems()
        assert topics.distinct() == good, f"after {seconds:.0f}s"
        time.sleep(1.0)  # anything published twice or late would arrive now
        topics.poll()
    finally:
        connectors.stop()
        simulation.stop()
    try:
        assert topics.distinct() == good
        letters = list(topics.events[DLQ].values())
        _assert_dead_letters(letters, bad, ctx.extras["simulation"].folder, connectors)
    finally:
        topics.close()
    print(f"\n{topics.messages} messages ({sum(good.values())} distinct events, {len(letters)} dead letters) "
          f"from {len(connectors.threads)} connectors, read back {seconds:.1f}s after they started: "
          f"{topics.messages / seconds:.0f} messages/s")


def _assert_dead_letters(letters: list[dict[str, Any]], bad: dict[str, int], folder: Path, part: ConnectorsPart) -> None:
    connector_hei = {t.cls.name: t.cls.hei for t in part.threads}
    per_source: Counter[str] = Counter()
    for d in letters:
        connector = d["source_topic"].split(".")[0]
        assert d["reason"] and d["error_kind"], d
        assert connector_hei[connector] == d["source_hei"]
        per_source[f"{d['source_hei']}/{'ewp' if connector.startswith('ewp_') else 'sis'}"] += 1
    assert per_source == Counter({s: n for s, n in bad.items() if n})
    expected_bad = [json.loads(x) for x in (folder / "expected" / "bad.jsonl").read_text(encoding="utf-8").splitlines()]
    for b in expected_bad:
        hei, kind = b["source"].split("/")
        if kind == "sis" and hei in KINDS:
            letter = _find(b, [d for d in letters if d["source_hei"] == hei and not d["source_topic"].startswith("ewp_")])
            assert letter["error_kind"] == KINDS[hei][b["kind"]], (b, letter["reason"])


def _find(bad: dict[str, Any], letters: list[dict[str, Any]]) -> dict[str, Any]:
    """The dead letter of one bad record of bad.jsonl, by where the simulator put it."""
    name = Path(bad.get("file", "")).name
    for d in letters:
        where, payload = d["source_location"], bytes(d["payload"])
        if "line" in bad and name.endswith(".csv") and where.startswith(name) and where.endswith(f"(line {bad['line']})"):
            return d
        if name.endswith(".xml") and where.startswith(name) and (d["error_kind"] == "parse" or
                                                                  f'id="{bad["id"]}"'.encode() in payload):
            return d
        if "table" in bad and where.endswith(f" id={bad['id']}"):
            return d
        if name == "webhooks.jsonl" and bad["id"].encode() in payload:
            return d
    raise AssertionError(f"no dead letter for the bad record {bad}")
