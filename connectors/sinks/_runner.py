"""Consume ``hub.recognitions`` for one home institution and hand batches to a sink; commit after the write."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from connectors.sdk import DLQ_TOPIC, Publisher, Serializer, derive_event_id, local_avro
from connectors.sinks._sink import Sink
from schemas.models import DeadLetter, RecognitionDecision, from_avro, now_utc, to_avro

log = structlog.get_logger()
TOPIC = "hub.recognitions"


@dataclass
class SinkTotals:
    written: int = 0
    ignored: int = 0
    rejected: int = 0
    batches: list[str] = field(default_factory=list)


class SinkRunner:
    """Reads decisions whose ``home_hei`` is this institution; undecodable records become dead letters.

    ``consumer`` is a kafka-python ``KafkaConsumer`` subscribed (group, no auto commit) by the caller;
    ``decode(bytes, topic, partition, offset) -> dict`` is the Avro deserializer.
    """

    def __init__(self, hei: str, sink: Sink, consumer: Any, decode: Callable[..., dict[str, Any]],
                 dead_letters: Publisher | None = None, serializer: Serializer | None = None) -> None:
        self.hei, self.sink, self.consumer, self.decode = hei, sink, consumer, decode
        self.dead_letters, self.serialize = dead_letters, serializer or local_avro
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self, once: bool = False, poll_ms: int = 500, max_records: int = 1000) -> SinkTotals:
        totals = SinkTotals()
        idle = 0
        while not self._stop.is_set():
            polled = self.consumer.poll(timeout_ms=poll_ms, max_records=max_records)
            records = [r for batch in polled.values() for r in batch]
            if not records:
                if self.consumer.assignment():  # idle polls count only once the group gave us partitions
                    idle += 1
                if once and idle >= 2:
                    break
                continue
            idle = 0
            wanted: list[RecognitionDecision] = []
            for r in records:
                try:
                    decision = from_avro("RecognitionDecision", self.decode(r.value, r.topic, r.partition, r.offset))
                except Exception as exc:  # undecodable: dead-letter it, never block the partition
                    self._dead_letter(r, exc)
                    totals.rejected += 1
                    continue
                if isinstance(decision, RecognitionDecision) and decision.home_hei == self.hei and self.sink.wants(decision):
                    wanted.append(decision)
                else:
                    totals.ignored += 1
            first = min(records, key=lambda r: (r.partition, r.offset))
            batch_id = f"p{first.partition}-o{first.offset}-n{len(records)}"
            self.sink.write(wanted, batch_id)
            if self.dead_letters is not None:
                self.dead_letters.flush()
            self.consumer.commit()
            totals.written += len(wanted)
            totals.batches.append(batch_id)
            log.info("sink_batch", hei=self.hei, sink=self.sink.kind, batch=batch_id, written=len(wanted))
        return totals

    def _dead_letter(self, record: Any, exc: Exception) -> None:
        log.warning("sink_undecodable", topic=record.topic, partition=record.partition, offset=record.offset, error=str(exc))
        if self.dead_letters is None:
            return
        letter = DeadLetter(
            event_id=derive_event_id(f"sink:{self.hei}", record.topic, f"{record.partition}/{record.offset}",
                                     record.value or b"", salt="dead-letter"),
            source_hei=self.hei, occurred_at=now_utc(), source_topic=record.topic, source_partition=record.partition,
            source_offset=record.offset, component=f"sink:{self.hei}", error_kind="decode", reason=str(exc),
            payload=record.value or b"")
        self.dead_letters.send(DLQ_TOPIC, record.topic.encode(), self.serialize(DLQ_TOPIC, to_avro(letter)))
