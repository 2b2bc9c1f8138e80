"""The recognition path of the browser tests, in-process: the simulator's hub events and the registrars'
decisions through the streams' own framework-free step (``streams.recognise.RecogniseStep``) into the
ledger with the ledger's own writer (``Ledger.write``), LA versions included.

What faust adds around that step (partitioned tables, the ESI re-keying of registrar
decisions) is replaced by a dict of student states and ``Ledger.student_of``; the
rules, the decisions and the rows are the real ones.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from schemas.avro_files import load_schema
from schemas.canonical import read_jsonl
from schemas.catalogue import registrar_topic
from schemas.institutions import SCHAC_CODES
from schemas.models import Event, Grade, Mobility, RegistrarDecision, from_avro
from schemas.registry_client import RegistryClient
from schemas.serde import AvroDeserializer
from streams.ledger.store import Batch, Ledger

recognise = pytest.importorskip("streams.recognise", reason="the streams' recognise step (streams/recognise.py) is not installed yet")
monitor = pytest.importorskip("streams.monitor", reason="the streams' monitor (streams/monitor.py) is not installed yet")


def simulate(out: Path, seed: int, students: int) -> list[Event]:
    """``hub simulate`` into ``out``; the hub events it writes, in delivery order."""
    command = [sys.executable, "-c", "from hub.cli import main; main()", "simulate", "--seed", str(seed), "--students", str(students),
               "--mobility-share", "0.2", "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return [e for e in read_jsonl(out / "hub-events.jsonl") if isinstance(e, (Grade, Mobility))]


class Pipeline:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.step = recognise.RecogniseStep()
        self.agenda = monitor.Agenda(None)
        self.states: dict[str, dict] = {}
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.applied: list[RegistrarDecision] = []

    def feed(self, events: list[Event]) -> Batch:
        """Fold events into the students' states and write what they produced in one ledger transaction."""
        batch = Batch([], [], [], {})
        with self.lock:
            for ev in events:
                esi = getattr(ev, "student_esi", None) or self.ledger.student_of(ev.omobility_id)
                result = self.step.apply(esi, self.states.get(esi), self.agenda, ev)
                self.states[esi] = result.state
                for out in (*result.decisions, *result.statuses, *result.alerts):
                    batch.add(out)
                batch.add(ev)  # an approved LA version, as the ledger writer stores it from hub.mobilities
            self.ledger.write(batch, "tests-web-pipeline")
        return batch

    def follow_registrars(self, bootstrap_servers: str, registry_url: str, prefix: str) -> None:
        """Apply every registrar decision published on ``<prefix>registrar.<hei>.decisions`` from now on."""
        from kafka import KafkaConsumer

        topics = [f"{prefix}{registrar_topic(h)}" for h in SCHAC_CODES]
        consumer = KafkaConsumer(*topics, bootstrap_servers=bootstrap_servers, group_id=f"{prefix}tests-registrars",
                                 auto_offset_reset="earliest", enable_auto_commit=True)
        client = RegistryClient(registry_url)
        decoder = AvroDeserializer(client, reader_schemas={t: load_schema("RegistrarDecision") for t in topics})

        ready = threading.Event()

        def run() -> None:
            try:
                while not self._stop.is_set():
                    if consumer.assignment():
                        ready.set()
                    for tp, records in consumer.poll(timeout_ms=200).items():
                        for rec in records:
                            decision = from_avro("RegistrarDecision", decoder.deserialize(rec.value, tp.topic, tp.partition, rec.offset))
                            self.applied.append(decision)
                            self.feed([decision])
            finally:
                consumer.close()
                client.close()

        self._thread = threading.Thread(target=run, name="tests-registrar-follower", daemon=True)
        self._thread.start()
        # the group join takes seconds, more on a busy machine: the tests publish decisions only once it has partitions
        assert ready.wait(90), "the registrar follower got no partitions of the registrar topics within 90 s"

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
