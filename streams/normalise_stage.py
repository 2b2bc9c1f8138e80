"""The normalise stage on plain aiokafka: ``sis.<hei>.*`` -> ``hub.enrolments|grades|mobilities`` keyed by ESI.

Why not a faust agent: every event crosses this stage once and the recognise
agent once, and faust's per-event path (~150 µs on these cores) on both hops was
a third of a worker's CPU.  Here a ``getmany`` batch of thousands is decoded,
validated by the pure :class:`~streams.normalise.Normaliser`, encoded and sent
in one go, so the pipeline keeps a single faust hop (recognise).

State: one :class:`~streams.normalise.PartnerStudent` per (partner, local id) in
memory, per input partition, written after each batch to the compacted topic
:func:`state_topic` (same partition as the input).  A batch is safe to crash
anywhere in: its outputs are acknowledged first, then the changed states, then
its offsets are committed; a replay of it re-sends outputs (harmless downstream)
or drops the events the state has already seen.

Partitions: the range assignor gives partition p of every ``sis.*`` topic to the
same worker, so a student's enrolments, grades and mobilities meet one state.
A batch in progress finishes before partitions are revoked (a lock), and
assigned partitions' states are rebuilt from the state topic before their
records are processed.

Under ``exactly_once`` (one worker) each batch is one Kafka transaction with its offsets.
"""

from __future__ import annotations

import asyncio
import json
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError

from hub.logs import get_logger
from schemas.catalogue import SIS_KINDS, sis_topic
from schemas.institutions import SCHAC_CODES

from streams.codec import HubCodec
from streams.config import StreamsConfig
from streams.dlq import Rejected, dead_letter
from streams.normalise import KIND_OF, UNKNOWN_STUDENT, Normaliser, PartnerStudent

__all__ = ["NormaliseStage", "state_topic", "group_id"]

log = get_logger(component="normalise")
COMPONENT = "streams:normalise"


def state_topic(cfg: StreamsConfig) -> str:
    """The compacted topic of the partner students' states (one partition per input partition)."""
    return f"{cfg.topic_prefix}{cfg.app_id}-partner-students"


def group_id(cfg: StreamsConfig) -> str:
    return f"{cfg.topic_prefix}{cfg.app_id}-normalise"


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, stage: "NormaliseStage") -> None:
        self.stage = stage

    async def on_partitions_revoked(self, revoked) -> None:
        async with self.stage.lock:  # the batch in progress ends (outputs, states, offsets) before anyone else reads on
            self.stage.states.clear()

    async def on_partitions_assigned(self, assigned) -> None:
        async with self.stage.lock:
            try:
                await self.stage.restore({tp.partition for tp in assigned})
            except Exception as exc:  # noqa: BLE001 - aiokafka would log it and go on with empty states: stop instead
                log.error("normalise-restore-failed", error=repr(exc), hint="the stage stops; its supervisor starts it again")
                self.stage.failed = exc
                self.stage.stop()


class NormaliseStage:
    """Run with ``await stage.run()`` until :meth:`stop`."""

    def __init__(self, cfg: StreamsConfig, *, max_records: int = 2000) -> None:
        self.cfg = cfg
        self.where = {cfg.topic(sis_topic(hei, kind)): hei for hei in SCHAC_CODES for kind in SIS_KINDS}
        self.codec = HubCodec(cfg.registry_url, cfg.topic_prefix)
        self.normaliser = Normaliser(cfg.dedupe_days, cfg.dedupe_max_ids)
        self.state_topic = state_topic(cfg)
        self.dlq_topic = cfg.topic("hub.dlq")
        self.max_records = max_records
        self.exactly_once = cfg.processing_guarantee == "exactly_once"
        self.lock = asyncio.Lock()
        self.failed: BaseException | None = None  # a restore that failed: no batch may run on partial states
        self.states: dict[int, dict[bytes, PartnerStudent | bytes]] = {}  # partition -> row -> state (bytes until first use)
        self.counts = {"normalised": 0, "duplicates": 0, "held": 0, "dead_letters": 0, "batches": 0}
        self.consumer: AIOKafkaConsumer | None = None  # the group member reading the partner topics
        self.restorer: AIOKafkaConsumer | None = None  # reads the state topic back on each assignment
        self.producer: AIOKafkaProducer | None = None
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        cfg = self.cfg
        isolation = "read_committed" if self.exactly_once else "read_uncommitted"
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=cfg.bootstrap_servers, group_id=group_id(cfg), enable_auto_commit=False,
            auto_offset_reset="earliest", isolation_level=isolation, partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=int(cfg.session_timeout * 1000), heartbeat_interval_ms=int(max(1.0, cfg.session_timeout / 5) * 1000),
            max_partition_fetch_bytes=4 * 1048576,
        )
        producer_args = dict(bootstrap_servers=cfg.bootstrap_servers, linger_ms=10, max_batch_size=262_144, acks="all")
        if self.exactly_once:
            producer_args["transactional_id"] = f"{group_id(cfg)}-{cfg.worker_name}"
        self.producer = AIOKafkaProducer(**producer_args)
        self.restorer = AIOKafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, enable_auto_commit=False, isolation_level=isolation)
        await self.producer.start()
        await self.restorer.start()
        await self.consumer.start()
        self.consumer.subscribe(list(self.where), listener=_Rebalance(self))
        log.info("normalise-started", topics=len(self.where), group=group_id(cfg), state_topic=self.state_topic,
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
                if time.monotonic() - last_report > 30 and self.counts != reported:
                    log.info("normalise-progress", **self.counts)
                    last_report, reported = time.monotonic(), dict(self.counts)
        finally:
            await self.consumer.stop()
            await self.restorer.stop()
            await self.producer.stop()
            self.codec.close()
            log.info("normalise-stopped", **self.counts)
        if self.failed is not None:
            raise RuntimeError("the normalise stage could not rebuild its states from the state topic") from self.failed

    async def restore(self, partitions: set[int]) -> None:
        """Rebuild the states of ``partitions`` from the state topic (raw JSON, parsed on first use)."""
        t0 = time.monotonic()
        self.states = {p: {} for p in partitions}
        tps = [TopicPartition(self.state_topic, p) for p in sorted(partitions)]
        if not tps:
            return
        self.restorer.assign(tps)
        await self.restorer.seek_to_beginning(*tps)
        ends = await self.restorer.end_offsets(tps)
        pending = [tp for tp in tps if ends[tp] > 0]
        rows = 0
        while pending:
            got = await self.restorer.getmany(*pending, timeout_ms=1000)
            for tp, records in got.items():
                store = self.states[tp.partition]
                for r in records:
                    if r.value is None:
                        store.pop(r.key, None)
                    else:
                        store[r.key] = r.value
                    rows += 1
            pending = [tp for tp in pending if await self.restorer.position(tp) < ends[tp]]
        self.restorer.pause(*tps)  # read once; do not keep fetching what this stage writes
        log.info("normalise-restored", partitions=sorted(partitions), students=sum(map(len, self.states.values())),
                 records=rows, seconds=round(time.monotonic() - t0, 2))

    def _state(self, partition: int, row: bytes) -> PartnerStudent:
        store = self.states.setdefault(partition, {})
        state = store.get(row)
        if not isinstance(state, PartnerStudent):
            state = store[row] = PartnerStudent.from_dict(json.loads(state) if state else None)
        return state

    async def _batch(self, polled) -> None:
        """Normalise one batch: outputs acked, then changed states written, then offsets committed."""
        sends, changed, offsets = [], {}, {}
        if self.exactly_once:
            await self.producer.begin_transaction()
        for tp, records in polled.items():
            hei = self.where[tp.topic]
            for r in records:
                sends.extend(await self._one(hei, tp.partition, r, changed))
            offsets[tp] = records[-1].offset + 1
        if not self.exactly_once:
            await asyncio.gather(*sends)  # outputs first: a crash now replays the batch from the old states
            sends = []
        for (partition, row), state in changed.items():
            value = json.dumps(state.to_dict(), separators=(",", ":")).encode()
            sends.append(await self.producer.send(self.state_topic, value, key=row, partition=partition))
        if self.exactly_once:
            await self.producer.send_offsets_to_transaction(offsets, group_id(self.cfg))
            await self.producer.commit_transaction()
        else:
            await asyncio.gather(*sends)
            try:
                await self.consumer.commit(offsets)
            except KafkaError as exc:  # the next owner replays from the last commit; the states make that harmless
                log.warning("normalise-commit-failed", error=type(exc).__name__, detail=str(exc))
        self.counts["batches"] += 1

    async def _one(self, hei: str, partition: int, r, changed: dict) -> list:
        """Fold one partner record into its student's state; the send futures of what it leads to."""
        sent, state, row = [], None, b""
        try:
            event = self.codec.decode(r.topic, r.value, r.partition, r.offset)
            local = r.key or (getattr(event, "student_id", None) or "").encode()
            if not local:
                raise Rejected("missing-key", "a partner event needs its local student id as the Kafka key")
            row = hei.encode() + b"|" + local
            state = self._state(partition, row)
            out = self.normaliser.accept(hei, event, state, payload=r.value, topic=r.topic, partition=r.partition, offset=r.offset)
        except Exception as exc:  # noqa: BLE001 - one bad event is a dead letter, never a crash
            if state is not None:  # whatever the rules changed before they refused is kept consistently
                changed[(partition, row)] = state
            return [await self._dead_letter(exc, r.value, r.topic, r.partition, r.offset)]
        changed[(partition, row)] = state
        if out.duplicate:
            self.counts["duplicates"] += 1
        self.counts["held"] += out.held
        for h in out.expired:
            why = Rejected(UNKNOWN_STUDENT, f"unknown student {local.decode(errors='replace')!r} at {hei}: no student_esi, and no "
                           f"enrolment or mobility of {hei} named the student's ESI within the hold; publish the enrolment or set student_esi")
            sent.append(await self._dead_letter(why, h.payload, h.topic, h.partition, h.offset))
        for e in out.events:
            topic = self.cfg.topic(f"hub.{KIND_OF[type(e)]}")
            sent.append(await self.producer.send(topic, self.codec.encode(topic, e), key=e.student_esi.encode()))
        self.counts["normalised"] += len(out.events)
        return sent

    async def _dead_letter(self, exc: BaseException, payload: bytes | None, topic: str, partition: int | None, offset: int | None):
        letter = dead_letter(exc, component=COMPONENT, payload=payload, topic=topic, partition=partition, offset=offset)
        self.counts["dead_letters"] += 1
        return await self.producer.send(self.dlq_topic, self.codec.encode(self.dlq_topic, letter), key=topic.encode())
