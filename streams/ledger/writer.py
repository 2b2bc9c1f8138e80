"""The ledger writer: a plain aiokafka consumer that writes ``hub.recognitions``, ``hub.mobility-status``,
``hub.deadlines`` and the approved LA versions of ``hub.mobilities`` into the ledger in batches, each in one
transaction with its offsets.

Why not a faust agent: faust handles one event at a time (~150 µs each on these
cores), while a ``getmany`` batch of thousands goes into one SQL transaction.  On
every partition assignment the writer seeks to the offsets stored in the ledger,
not to Kafka's committed ones, so rows and offsets can never disagree: a crash
between the two is impossible, and a batch written twice changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from hub.logs import get_logger

from streams.batch_stage import FETCH_MAX_BYTES, FETCH_MIN_BYTES, FETCH_PARTITION_BYTES, FETCH_WAIT_MS
from streams.codec import HubCodec
from streams.dlq import dead_letter
from streams.housekeeping import Housekeeping
from streams.ledger.store import Batch, Ledger, carries_agreement, may_carry_agreement

__all__ = ["LedgerWriter", "LEDGER_TOPICS"]

LEDGER_TOPICS = ("hub.recognitions", "hub.mobility-status", "hub.deadlines", "hub.mobilities")
log = get_logger(component="ledger")


class _SeekToLedger(ConsumerRebalanceListener):
    def __init__(self, writer: "LedgerWriter") -> None:
        self.writer = writer

    async def on_partitions_revoked(self, revoked) -> None:
        return None

    async def on_partitions_assigned(self, assigned) -> None:
        stored = await asyncio.to_thread(self.writer.ledger.stored_offsets, self.writer.consumer_name)
        for tp in assigned:
            at = stored.get((tp.topic, tp.partition))
            if at is not None:
                self.writer.consumer.seek(tp, at)
            else:
                await self.writer.consumer.seek_to_beginning(tp)


class LedgerWriter:
    """Consume the ledger topics into ``ledger`` until :meth:`stop`; ``on_batch`` sees each committed batch."""

    def __init__(self, bootstrap_servers: str, registry_url: str, ledger: Ledger, *, topic_prefix: str = "",
                 consumer_name: str = "heroes-ledger", max_records: int = 5000, isolation_level: str = "read_committed",
                 on_batch: Callable[[Batch, float], None] | None = None) -> None:
        self.ledger = ledger
        self.consumer_name = consumer_name
        self.topics = [f"{topic_prefix}{t}" for t in LEDGER_TOPICS]
        self.codec = HubCodec(registry_url, topic_prefix)
        self.dlq_topic = f"{topic_prefix}hub.dlq"
        self.mobilities_topic = f"{topic_prefix}hub.mobilities"
        self.bootstrap_servers = bootstrap_servers
        self.max_records = max_records
        self.on_batch = on_batch
        self.isolation_level = isolation_level
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self._stop: asyncio.Event | None = None
        self._stopped = False
        self.rows = 0

    def stop(self) -> None:
        self._stopped = True
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> None:
        self._stop = asyncio.Event()
        if self._stopped:
            return
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, group_id=self.consumer_name, enable_auto_commit=False,
            auto_offset_reset="earliest", isolation_level=self.isolation_level, max_partition_fetch_bytes=FETCH_PARTITION_BYTES,
            fetch_max_bytes=FETCH_MAX_BYTES, fetch_min_bytes=FETCH_MIN_BYTES, fetch_max_wait_ms=FETCH_WAIT_MS,
            session_timeout_ms=10_000, heartbeat_interval_ms=2_000,
        )
        await self.consumer.start()
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, linger_ms=10, acks="all")
        await self.producer.start()
        self.consumer.subscribe(self.topics, listener=_SeekToLedger(self))
        log.info("ledger-writer-started", topics=self.topics, database=self.ledger.engine.url.render_as_string(hide_password=True))
        housekeeping = Housekeeping()
        housekeeping.start()
        try:
            while not self._stop.is_set():
                polled = await self.consumer.getmany(timeout_ms=200, max_records=self.max_records)
                if polled:
                    await self._write(polled)
                housekeeping.tick()
        finally:
            housekeeping.stop()
            await self.consumer.stop()
            await self.producer.stop()
            log.info("ledger-writer-stopped", rows=self.rows)

    async def _write(self, polled) -> None:
        batch, poisoned = self.collect(polled)
        for m, exc in poisoned:
            letter = dead_letter(exc, component="ledger", payload=m.value, topic=m.topic, partition=m.partition, offset=m.offset)
            await self.producer.send_and_wait(self.dlq_topic, self.codec.encode(self.dlq_topic, letter), key=m.topic.encode())
        t0 = time.perf_counter()
        await asyncio.to_thread(self.ledger.write, batch, self.consumer_name)
        self.rows += len(batch)
        if self.on_batch is not None:
            self.on_batch(batch, time.perf_counter() - t0)
        try:  # for lag monitoring only: the ledger's own offsets decide where a restart resumes
            await self.consumer.commit({TopicPartition(t, p): o for (t, p), o in batch.next_offsets.items()})
        except KafkaError as exc:
            log.warning("kafka-commit-skipped", error=type(exc).__name__, hint="harmless: the ledger keeps its own offsets")

    def collect(self, polled) -> tuple[Batch, list[tuple[Any, Exception]]]:
        """The batch of a poll (``{TopicPartition: [records]}``) and the records that did not decode, with why."""
        batch = Batch([], [], [], {})
        poisoned: list[tuple[Any, Exception]] = []
        for tp, messages in polled.items():
            # of the mobilities, only LA approvals are kept: the rest is read past (offsets still count) as cheaply
            # as their header, else their Avro, allows; validating every one would cost more than all else here
            mobility = tp.topic == self.mobilities_topic
            into = batch.agreements if mobility else batch.records_of(self.codec.record_of(tp.topic))
            for m in messages:
                try:
                    if mobility and not may_carry_agreement(m.headers):
                        continue
                    record = self.codec.record(m.topic, m.value, m.partition, m.offset)
                    if not mobility or carries_agreement(record):
                        into.append(record)  # rows straight from the recogniser's (and normaliser's) records
                except Exception as exc:  # noqa: BLE001 - a poison record is dead-lettered, the batch goes on
                    poisoned.append((m, exc))
            batch.next_offsets[(tp.topic, tp.partition)] = messages[-1].offset + 1
        return batch, poisoned
