"""The operations panel's numbers: events per second per topic, consumer lag, dead letters per reason.

A daemon thread samples Kafka once a second with kafka-python: the end offsets
of every catalogue topic (their change per second is the rate), the committed
offsets of every consumer group every few seconds (lag = end − committed), and
it reads ``hub.dlq`` from the start, counting letters per error kind and keeping
the latest ones so their payloads can be opened.  Nothing here blocks a request.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from hub.logs import get_logger
from schemas.catalogue import TOPICS
from schemas.models import DeadLetter, from_avro
from schemas.registry_client import RegistryClient
from schemas.serde import AvroDeserializer

__all__ = ["DeadLetterEntry", "OpsSampler", "OpsSnapshot"]

log = get_logger(component="web-ops")
DLQ = "hub.dlq"
KEEP_LETTERS = 500


@dataclass(frozen=True)
class DeadLetterEntry:
    ref: str  # "<partition>-<offset>", the id in the payload link
    letter: DeadLetter


@dataclass
class OpsSnapshot:
    rates: dict[str, float] = field(default_factory=dict)  # topic -> events/s over the last sample
    totals: dict[str, int] = field(default_factory=dict)  # topic -> events in the log
    lag: dict[str, int] = field(default_factory=dict)  # consumer group -> messages behind
    dead_letters: dict[str, int] = field(default_factory=dict)  # error kind -> count
    recent: list[DeadLetterEntry] = field(default_factory=list)  # newest first
    error: str = ""  # why the numbers are stale, for the panel
    sampled_at: float = 0.0

    def as_json(self, with_refs: bool) -> dict[str, Any]:
        recent = [{"ref": e.ref if with_refs else None, "error_kind": e.letter.error_kind, "component": e.letter.component,
                   "source_topic": e.letter.source_topic, "reason": e.letter.reason[:300]} for e in self.recent[:20]]
        return {"rates": self.rates, "totals": self.totals, "lag": self.lag, "dead_letters": self.dead_letters,
                "recent": recent, "error": self.error, "sampled_at": self.sampled_at}


class OpsSampler:
    def __init__(self, bootstrap_servers: str, registry_url: str | None, interval: float = 1.0) -> None:
        self.bootstrap_servers, self.registry_url, self.interval = bootstrap_servers, registry_url, interval
        self._snap = OpsSnapshot()
        self._letters: deque[DeadLetterEntry] = deque(maxlen=KEEP_LETTERS)
        self._kinds: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="web-ops-sampler", daemon=True)

    def start(self) -> OpsSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def snapshot(self) -> OpsSnapshot:
        return self._snap

    def letter(self, ref: str) -> DeadLetter | None:
        return next((e.letter for e in self._letters if e.ref == ref), None)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._loop()
            except Exception as exc:  # Kafka down or restarting: say so on the panel and try again
                self._snap = OpsSnapshot(self._snap.rates, self._snap.totals, self._snap.lag, dict(self._kinds), list(reversed(self._letters)),
                                         f"Kafka at {self.bootstrap_servers} not reachable: {exc}", time.time())
                log.warning("ops-sample-failed", error=str(exc))
                self._stop.wait(5)

    def _loop(self) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

        servers = self.bootstrap_servers.split(",")
        offsets = KafkaConsumer(bootstrap_servers=servers, client_id="hub-web-ops", enable_auto_commit=False)
        dlq = KafkaConsumer(bootstrap_servers=servers, client_id="hub-web-dlq", enable_auto_commit=False, auto_offset_reset="earliest")
        admin = KafkaAdminClient(bootstrap_servers=servers, client_id="hub-web-admin")
        registry = RegistryClient(self.registry_url) if self.registry_url else None
        decoder = AvroDeserializer(registry) if registry else None
        try:
            existing = offsets.topics()
            parts = [TopicPartition(t.name, p) for t in TOPICS if t.name in existing for p in sorted(offsets.partitions_for_topic(t.name) or ())]
            dlq_parts = [tp for tp in parts if tp.topic == DLQ]
            if dlq_parts:
                dlq.assign(dlq_parts)
                dlq.seek_to_beginning(*dlq_parts)
            previous: dict[str, int] | None = None
            last, lag, lag_at = time.monotonic(), {}, 0.0
            while not self._stop.is_set():
                ends = offsets.end_offsets(parts)
                now = time.monotonic()
                totals = Counter()
                for tp, end in ends.items():
                    totals[tp.topic] += end
                rates = {t: round((n - previous.get(t, n)) / max(now - last, 1e-3), 1) for t, n in totals.items()} if previous else {}
                previous, last = dict(totals), now
                if now - lag_at > 5:
                    lag, lag_at = self._lag(admin, ends), now
                if decoder is not None and dlq_parts:
                    self._read_dead_letters(dlq, decoder)
                self._snap = OpsSnapshot({t: r for t, r in rates.items() if r}, dict(totals), lag, dict(self._kinds),
                                         list(reversed(self._letters)), "", time.time())
                self._stop.wait(self.interval)
        finally:
            for closable in (offsets, dlq, admin):
                try:
                    closable.close()
                except Exception:  # closing after Kafka went away must not hide the first error
                    pass
            if registry is not None:
                registry.close()

    def _lag(self, admin, ends) -> dict[str, int]:
        out: dict[str, int] = {}
        for group in _groups(admin):
            if not group or group.startswith("hub-web"):
                continue
            committed = _committed(admin, group)
            behind = sum(max(ends.get(tp, meta.offset) - meta.offset, 0) for tp, meta in committed.items() if meta.offset >= 0)
            out[group] = behind
        return out

    def _read_dead_letters(self, consumer, decoder: AvroDeserializer) -> None:
        for tp, records in consumer.poll(timeout_ms=0, max_records=2000).items():
            for rec in records:
                try:
                    letter = from_avro("DeadLetter", decoder.deserialize(rec.value, tp.topic, tp.partition, rec.offset))
                except Exception as exc:  # a letter we cannot read is counted, not dropped silently
                    self._kinds["unreadable dead letter"] += 1
                    log.warning("dead-letter-unreadable", partition=tp.partition, offset=rec.offset, error=str(exc))
                    continue
                self._kinds[letter.error_kind] += 1
                self._letters.append(DeadLetterEntry(f"{tp.partition}-{rec.offset}", letter))


def _groups(admin) -> list[str]:
    # kafka-python 3 has list_groups() (dicts); 2.x had list_consumer_groups() (tuples)
    if hasattr(admin, "list_groups"):
        return [g.get("group_id") or g.get("group") or "" for g in admin.list_groups()]
    return [g[0] for g in admin.list_consumer_groups()]


def _committed(admin, group: str) -> dict:
    if hasattr(admin, "list_group_offsets"):
        return admin.list_group_offsets({group: None}).get(group, {})
    return admin.list_consumer_group_offsets(group)
