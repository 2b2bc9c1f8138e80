"""What the plain-aiokafka stages share: a consumer group, per-partition state on a compacted topic, safe batches.

Why not faust for these: faust's per-event path (~150 µs on these cores) costs
more than the work of a stage; a ``getmany`` batch of thousands is decoded,
decided, encoded and sent in one go (DESIGN.md §9).

A stage subclasses :class:`BatchStage` and implements :meth:`BatchStage.process`.
State rows live on the compacted :attr:`state_topic`, written to the same
partition as the input they came from, and in a working copy on local disk
(:class:`~streams.state_store.StateStore`, filled from the topic on each
assignment), so a worker does not hold every student's state in memory; a
stage keeps live objects for its most recently used keys only.  A batch is safe to crash
anywhere in: about once a second (and when partitions are handed over or the
stage stops) a checkpoint waits for the acks of the outputs sent since the last
one, then writes the state rows changed since, and once those are acknowledged
the offsets they reached are committed; in between, batches go on while Kafka
acknowledges.  A replay re-sends outputs (the same ids: every reader keeps the
latest) from states that have not seen its batches, or from states that have,
which then drop the repeats.

Partitions: the range assignor gives partition p of every input topic to the
same member, so one key's events meet one state.  A batch in progress finishes
before partitions are revoked (a lock), and assigned partitions' states are
rebuilt from the state topic before their records are processed; a rebuild that
fails stops the stage (its supervisor starts it again) rather than run on
partial states.

Under ``exactly_once`` (one worker) each batch, its state rows and its offsets
are one Kafka transaction.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError

from hub.logs import get_logger

from streams.codec import HubCodec
from streams.config import StreamsConfig
from streams.dlq import dead_letter
from streams.housekeeping import Housekeeping
from streams.partitioning import CachedPartitioner
from streams.state_store import StateStore

__all__ = ["BatchStage", "Changed", "FETCH_MAX_BYTES", "FETCH_MIN_BYTES", "FETCH_PARTITION_BYTES", "FETCH_WAIT_MS", "fetch_partition_bytes", "row_bytes",
           "row_value"]

Changed = dict[tuple[int, bytes], bytes | None]  # (partition, key) -> the state row's new bytes (None: delete it)


FETCH_MAX_BYTES = 4 * 1048576  # per fetch: a batch of 2,000 hub events is about 0.5 MB
FETCH_PARTITION_BYTES = 1048576
# aiokafka keeps fetching every partition whose prefetched records were taken, so with a backlog (a replayed year)
# it holds up to a partition's fetch size for each partition: a stage's share per partition keeps that total bounded
PREFETCH_BUDGET = 16 * 1048576
# under load a fetch waits for this many bytes (at most FETCH_WAIT_MS): fewer, fuller fetches cost the broker less
# per event (each fetch of a stage names every partition it reads, 162 for normalise); idle, it adds that wait
FETCH_MIN_BYTES = 65_536
FETCH_WAIT_MS = 50


def fetch_partition_bytes(partitions: int) -> int:
    """What a consumer of ``partitions`` partitions fetches of each at most: their prefetch stays near PREFETCH_BUDGET."""
    return max(65_536, min(FETCH_PARTITION_BYTES, PREFETCH_BUDGET // max(1, partitions)))


CHECKPOINT_EVERY = 1.0  # seconds between checkpoints (state rows, then offsets) at least once
CHECKPOINT_ROWS = 8_192  # or sooner, once this many state rows changed
CHECKPOINT_CHUNK = 1_024  # state rows handed to the producer before waiting for their acks
UNACKED_BATCHES = 1_024  # or once this many record batches of outputs wait for their acks


async def _all_acked(futures: list) -> None:
    """Wait for every ack; raise the first failure (after all are done, so none is left unretrieved)."""
    for outcome in await asyncio.gather(*futures, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


def _by_partition(keys: Iterable[tuple[int, bytes]]) -> dict[int, set[bytes]]:
    """``(partition, key)`` pairs as each partition's keys (each once)."""
    grouped: dict[int, set[bytes]] = {}
    for partition, key in keys:
        grouped.setdefault(partition, set()).add(key)
    return grouped


def row_bytes(value: Any) -> bytes:
    """A state row's JSON (orjson: a stage writes a row per changed key per batch, and the stdlib's costs 5x more)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def row_value(raw: bytes) -> Any:
    """The JSON value of a state row."""
    return orjson.loads(raw)


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, stage: "BatchStage") -> None:
        self.stage = stage

    async def on_partitions_revoked(self, revoked) -> None:
        async with self.stage.lock:  # the batch in progress ends (outputs, states, offsets) before anyone else reads on
            await self.stage.checkpoint_or_log()
            self.stage.store.clear()
            self.stage.forget()

    async def on_partitions_assigned(self, assigned) -> None:
        async with self.stage.lock:
            try:
                await self.stage.restore({tp.partition for tp in assigned})
            except Exception as exc:  # noqa: BLE001 - aiokafka would log it and go on with empty states: stop instead
                self.stage.log.error(f"{self.stage.name}-restore-failed", error=repr(exc), hint="the stage stops; its supervisor starts it again")
                self.stage.failed = exc
                self.stage.stop()


class BatchStage:
    """Run with ``await stage.run()`` until :meth:`stop`.  Subclasses set ``name`` and implement :meth:`process`."""

    name = "stage"

    def __init__(self, cfg: StreamsConfig, *, inputs: list[str], group: str, state_topic: str, max_records: int = 2000,
                 live_keys: int = 2048) -> None:
        self.cfg = cfg
        self.inputs = inputs
        self.group = group
        self.state_topic = state_topic
        self.component = f"streams:{self.name}"
        self.log = get_logger(component=self.name)
        self.codec = HubCodec(cfg.registry_url, cfg.topic_prefix)
        self.dlq_topic = cfg.topic("hub.dlq")
        self.max_records = max_records
        self.exactly_once = cfg.processing_guarantee == "exactly_once"
        self.lock = asyncio.Lock()
        self.failed: BaseException | None = None  # a restore that failed: no batch may run on partial states
        self.store = StateStore(cfg.data_dir / "state" / f"{group}-{cfg.worker_name}.sqlite")
        self.live: OrderedDict[Any, Any] = OrderedDict()  # parsed states of the most recently used keys, most recent last
        self.live_keys = live_keys
        self.counts: dict[str, int] = {"dead_letters": 0, "batches": 0}
        self.consumer: AIOKafkaConsumer | None = None  # the group member reading the inputs
        self.restorer: AIOKafkaConsumer | None = None  # reads the state topic back on each assignment
        self.producer: AIOKafkaProducer | None = None
        self._stop = asyncio.Event()
        self.housekeeping = Housekeeping()
        self.partitioner = CachedPartitioner()
        self._partitions: dict[str, list[int]] = {}  # topic -> its partitions, from the producer's metadata
        self._ahead: dict[tuple[int, bytes], bytes | None] = {}  # state rows of the batch's keys, read ahead (None: no row)
        self._pending: dict[tuple[str, int], list] = {}  # (topic, partition) -> record batches not yet handed to the producer
        # at least once: state rows changed and offsets reached since the last checkpoint (see checkpoint)
        self._dirty: set[tuple[int, bytes]] = set()
        self._reached: dict[TopicPartition, int] = {}
        self._unacked: list[asyncio.Future] = []  # acks of the outputs sent since the last checkpoint
        self._settling: tuple[list, dict[TopicPartition, int]] | None = None  # the last checkpoint's row acks and offsets
        self._checkpointed = time.monotonic()

    # What a stage implements

    async def process(self, polled: dict[TopicPartition, list]) -> tuple[list, Changed]:
        """Fold one batch into the states: (what its sends returned: ack futures, or None for batched records; the state
        rows it changed)."""
        raise NotImplementedError

    def forget(self) -> None:
        """Drop what the stage derived from its states (partitions are being revoked)."""
        self.live.clear()

    def read_ahead(self, keys: Iterable[tuple[int, bytes]]) -> None:
        """Read the state rows of a batch's ``(partition, key)``s (those not live) in a few statements; :meth:`stored`
        answers from them until the batch ends."""
        for partition, wanted in _by_partition(keys).items():
            found = self.store.get_many(partition, wanted)
            for key in wanted:
                self._ahead[(partition, key)] = found.get(key)

    def stored(self, partition: int, key: bytes) -> bytes | None:
        """A state row as the store holds it (the batch's changes are written when it ends)."""
        try:
            return self._ahead[(partition, key)]
        except KeyError:
            return self.store.get(partition, key)

    def restored(self, partitions: set[int]) -> None:
        """``states`` hold the rows of ``partitions`` now; derive what the stage needs from them."""

    # The machinery

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        cfg = self.cfg
        isolation = "read_committed" if self.exactly_once else "read_uncommitted"
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=cfg.bootstrap_servers, group_id=self.group, enable_auto_commit=False,
            auto_offset_reset="earliest", isolation_level=isolation, partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=int(cfg.session_timeout * 1000), heartbeat_interval_ms=int(max(1.0, cfg.session_timeout / 5) * 1000),
            # what a consumer prefetches is bounded in bytes, not by the backlog: a replayed year must not fill memory
            max_partition_fetch_bytes=fetch_partition_bytes(len(self.inputs) * cfg.partitions), fetch_max_bytes=FETCH_MAX_BYTES,
            fetch_min_bytes=FETCH_MIN_BYTES, fetch_max_wait_ms=FETCH_WAIT_MS,
        )
        producer_args = dict(bootstrap_servers=cfg.bootstrap_servers, linger_ms=10, max_batch_size=262_144, acks="all",
                             partitioner=self.partitioner)
        if self.exactly_once:
            producer_args["transactional_id"] = f"{self.group}-{cfg.worker_name}"
        self.producer = AIOKafkaProducer(**producer_args)
        self.restorer = AIOKafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, enable_auto_commit=False, isolation_level=isolation)
        await self.producer.start()
        await self.restorer.start()
        await self.consumer.start()
        self.consumer.subscribe(self.inputs, listener=_Rebalance(self))
        self.housekeeping.start()
        self.log.info(f"{self.name}-started", topics=len(self.inputs), group=self.group, state_topic=self.state_topic,
                      guarantee=cfg.processing_guarantee)
        last_report, reported = time.monotonic(), dict(self.counts)
        try:
            while not self._stop.is_set():
                polled = await self.consumer.getmany(timeout_ms=200, max_records=self.max_records)
                if polled:
                    # aiokafka returns records of the current assignment only, and taking a free lock does not yield,
                    # so no rebalance comes between the fetch and the batch; the lock then holds the next one off.
                    async with self.lock:
                        if self.failed is None:
                            await self._batch(polled)
                else:
                    if self._checkpoint_due() or self._settling is not None:
                        async with self.lock:  # idle: what the last batches did becomes durable now, not at the next batch
                            if self.failed is None:
                                if self._checkpoint_due():
                                    await self.checkpoint()
                                await self.settle()
                    self.housekeeping.tick()
                if time.monotonic() - last_report > 30 and self.counts != reported:
                    self.log.info(f"{self.name}-progress", **self.counts)
                    last_report, reported = time.monotonic(), dict(self.counts)
        finally:
            self.housekeeping.stop()
            async with self.lock:
                await self.checkpoint_or_log()
            await self.consumer.stop()
            await self.restorer.stop()
            await self.producer.stop()
            self.codec.close()
            self.store.close()
            self.log.info(f"{self.name}-stopped", **self.counts)
        if self.failed is not None:
            raise RuntimeError(f"the {self.name} stage could not rebuild its states from {self.state_topic}") from self.failed

    async def restore(self, partitions: set[int]) -> None:
        """Rebuild the state rows of ``partitions`` from the state topic (raw bytes, parsed by the stage on first use)."""
        t0 = time.monotonic()
        self.store.clear()
        tps = [TopicPartition(self.state_topic, p) for p in sorted(partitions)]
        rows = 0
        if tps:
            self.restorer.assign(tps)
            await self.restorer.seek_to_beginning(*tps)
            ends = await self.restorer.end_offsets(tps)
            pending = [tp for tp in tps if ends[tp] > 0]
            while pending:
                got = await self.restorer.getmany(*pending, timeout_ms=1000)
                for tp, records in got.items():
                    self.store.write((tp.partition, r.key, r.value) for r in records)
                    rows += len(records)
                pending = [tp for tp in pending if await self.restorer.position(tp) < ends[tp]]
            self.restorer.pause(*tps)  # read once; do not keep fetching what this stage writes
        self.restored(partitions)
        self.log.info(f"{self.name}-restored", partitions=sorted(partitions), keys=self.store.count(),
                      records=rows, seconds=round(time.monotonic() - t0, 2))

    async def _batch(self, polled: dict[TopicPartition, list]) -> None:
        """One batch: outputs acked, then changed state rows written, then offsets committed."""
        self._pending.clear()  # nothing of a batch that failed half-way goes out with this one
        if self.exactly_once:
            await self.producer.begin_transaction()
        try:
            sends, changed = await self.process(polled)
        finally:
            self._ahead.clear()  # the batch's rows change now: they were the store's rows before it
        self.store.write((p, key, value) for (p, key), value in changed.items())
        while len(self.live) > self.live_keys:  # the oldest ones' rows are in the store: every changed state was just written
            self.live.popitem(last=False)
        offsets = {tp: records[-1].offset + 1 for tp, records in polled.items() if records}
        if self.exactly_once:
            for (partition, key), value in changed.items():
                sends.append(await self._send(self.state_topic, key, value, None, partition))
            await self.producer.send_offsets_to_transaction(offsets, self.group)
            await self.producer.commit_transaction()
        else:
            # Outputs are acknowledged before the checkpoint that makes the batch durable, not here: Kafka acknowledges
            # a batch while the next one is decided (the producer keeps each partition's records in order).  A crash
            # before the checkpoint replays these batches from the states of the last one.
            self._unacked.extend(f for f in sends if f is not None)
            self._unacked.extend(await self._flush())
            self._dirty.update(changed)
            self._reached.update(offsets)
            if self._checkpoint_due():
                await self.checkpoint()
        self.counts["batches"] += 1
        self.housekeeping.tick()

    def _checkpoint_due(self) -> bool:
        """Whether batches since the last checkpoint wait for one, and it is time (or many rows changed, or many
        outputs wait for their acknowledgement)."""
        if not (self._dirty or self._reached):
            return False
        return (time.monotonic() - self._checkpointed > CHECKPOINT_EVERY or len(self._dirty) > CHECKPOINT_ROWS
                or len(self._unacked) > UNACKED_BATCHES)

    async def checkpoint(self) -> None:
        """Make the batches since the last checkpoint durable: once their outputs are acknowledged, their changed
        state rows (as the store has them now) go to the state topic; the consumer offsets they reached are committed
        once those rows are acknowledged, by :meth:`settle` (at the next checkpoint, when idle, or when letting go).

        At least once, a stage does this every ``CHECKPOINT_EVERY`` seconds, not after every batch: a student whose
        events span several batches is written once, and a crash replays at most that long from the checkpoint's
        states (the outputs carry the same ids again; every reader keeps the latest).  Nothing here waits on the
        broker unless it must: batches go on while Kafka acknowledges outputs and rows.
        """
        await self.settle()
        unacked, self._unacked = self._unacked, []
        await _all_acked(unacked)  # rows must not become durable before the outputs they follow from
        rows: list[asyncio.Future] = []
        if self._dirty:
            sent = 0
            for partition, keys in _by_partition(self._dirty).items():
                values = self.store.get_many(partition, keys)
                for key in keys:
                    await self._send(self.state_topic, key, values.get(key), None, partition)
                    sent += 1
                    if sent % CHECKPOINT_CHUNK == 0:  # the rows in flight stay a few megabytes, however many changed
                        await _all_acked(await self._flush())
            rows = await self._flush()
        self._settling = (rows, dict(self._reached)) if rows or self._reached else None
        self._dirty.clear()
        self._reached.clear()
        self._checkpointed = time.monotonic()

    async def settle(self) -> None:
        """Commit the offsets of the last checkpoint once its state rows are acknowledged."""
        if self._settling is None:
            return
        (rows, reached), self._settling = self._settling, None
        await _all_acked(rows)
        if reached:
            try:
                await self.consumer.commit(reached)
            except KafkaError as exc:  # the next owner replays from the last commit; the states make that harmless
                self.log.warning(f"{self.name}-commit-failed", error=type(exc).__name__, detail=str(exc))

    async def checkpoint_or_log(self) -> None:
        """:meth:`checkpoint` where the stage lets go of its partitions: on failure the next owner replays further back."""
        if self.exactly_once or self.failed is not None:
            return
        try:
            await self.checkpoint()
            await self.settle()
        except Exception as exc:  # noqa: BLE001 - a broker gone mid-rebalance must not stop the hand-over
            self.log.warning(f"{self.name}-checkpoint-failed", error=type(exc).__name__, detail=str(exc),
                             hint="the next owner replays from the previous checkpoint")
            self._dirty.clear()
            self._reached.clear()
            self._unacked.clear()
            self._settling = None

    async def send(self, topic: str, key: bytes, event, headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future | None:
        """Send ``event`` as ``topic``'s Avro: the future of Kafka's ack, or None when the next checkpoint awaits it."""
        return await self._send(topic, key, self.codec.encode(topic, event), headers)

    async def forward(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future | None:
        """Send an input's Avro value unchanged (the caller checked it is ``topic``'s schema); as :meth:`send`."""
        return await self._send(topic, key, value, headers)

    async def _send(self, topic: str, key: bytes, value: bytes, headers, partition: int | None = None) -> asyncio.Future | None:
        """One record out.  At least once, it goes into a record batch of its partition, handed to the producer whole
        by :meth:`_flush` (aiokafka's per-record ``send`` costs more than a stage's own work on some records); in a
        transaction it goes through ``send``, which enlists its partition in the transaction."""
        if self.exactly_once:
            return await self.producer.send(topic, value, key=key, partition=partition, headers=headers)
        if partition is None:
            partitions = self._partitions.get(topic)
            if partitions is None:
                partitions = self._partitions[topic] = sorted(await self.producer.partitions_for(topic))
            partition = self.partitioner(key, partitions, partitions)
        builders = self._pending.setdefault((topic, partition), [])
        if not builders or builders[-1].append(timestamp=None, key=key, value=value, headers=headers or []) is None:
            builders.append(self.producer.create_batch())  # the first, or the last one is full
            if builders[-1].append(timestamp=None, key=key, value=value, headers=headers or []) is None:
                raise ValueError(f"a record of {len(value)} bytes does not fit in a batch of {topic}")
        return None

    async def _flush(self) -> list[asyncio.Future]:
        """Hand every pending record batch to the producer, in order per partition; the futures of their acks."""
        futures = []
        for (topic, partition), builders in self._pending.items():
            for builder in builders:
                futures.append(await self.producer.send_batch(builder, topic, partition=partition))
        self._pending.clear()
        return futures

    async def dead_letter(self, exc: BaseException, payload: bytes | None, topic: str, partition: int | None, offset: int | None):
        """Send the dead letter of one failed input to ``hub.dlq``; returns the send's future."""
        letter = dead_letter(exc, component=self.component, payload=payload, topic=topic, partition=partition, offset=offset)
        self.counts["dead_letters"] += 1
        return await self.send(self.dlq_topic, topic.encode(), letter)
