"""The faust app of the hub's stream processors: topics from the catalogue, Avro values, tuned producer.

    >>> hub = create_app(StreamsConfig(bootstrap_servers="127.0.0.1:9092", registry_url="http://127.0.0.1:8081"))  # doctest: +SKIP
    >>> hub.app          # the faust.App; run it with ``streams.worker.run_worker(config)``  # doctest: +SKIP

Agents (each a few lines around pure rules); the normalise stage before them
(``sis.<hei>.*`` -> ``hub.*`` keyed by student ESI) is plain aiokafka, see
``streams.normalise_stage``, and so is recognise by default (``streams.recognise_stage``):

- ``registrar``: ``registrar.<hei>.decisions`` -> the same decisions keyed by student ESI;
- ``recognise`` (under ``recognise=faust``): ``hub.grades`` + ``hub.mobilities`` + re-keyed
  registrar decisions -> ``hub.recognitions``, ``hub.mobility-status``, ``hub.deadlines``.

Every agent dead-letters a failed event to ``hub.dlq`` and goes on.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import faust
from faust.streams import _current_event


from streams.codec import HubCodec, faust_codec_name, register_faust_codecs
from streams.config import StreamsConfig
from streams.consumer import use_rebalance_safe_consumer
from streams.dlq import dead_letter

__all__ = ["HubStreams", "create_app", "ensure_streams_topics", "OUTPUT_TOPICS"]

TABLES = ("students", "agenda")
OUTPUT_TOPICS = ("hub.enrolments", "hub.grades", "hub.mobilities", "hub.recognitions", "hub.mobility-status", "hub.deadlines", "hub.dlq")


@dataclass
class HubStreams:
    """The faust app with what its agents share: config, codec, output topics, tables, counters."""

    app: faust.App
    config: StreamsConfig
    codec: HubCodec
    topics: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    counters: Counter = field(default_factory=Counter)

    def out(self, name: str):
        """The faust topic of catalogue topic ``name`` (under the prefix), encoding typed events as Avro."""
        return self.topics[self.config.topic(name)]

    async def send(self, name: str, key: bytes, value):
        """Send ``value`` (an event) to catalogue topic ``name``; returns the future of Kafka's ack.

        Outside a transaction the Avro bytes go straight to the producer: faust's channel
        machinery per message costs more than the encoding.  Under ``exactly_once`` the
        faust topic sends, as it picks the transactional producer of the event's partition.
        """
        if self.app.in_transaction:
            return await self.out(name).send(key=key, value=value)
        topic = self.config.topic(name)
        return await self.app.producer.send(topic, key, self.codec.encode(topic, value), None, None, None)

    @staticmethod
    def write(table, key: bytes, value, event) -> None:
        """``table[key] = value`` (None: delete) on the changelog partition of ``event``.

        faust takes a write's changelog partition from the stream's current event;
        a batch writes each key once at its end, so it names the event the key came from.
        """
        token = _current_event.set(weakref.ref(event))
        try:
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
        finally:
            _current_event.reset(token)

    async def acked(self, sent: Iterable) -> None:
        """Wait until Kafka acknowledged every record of ``sent`` (the futures ``topic.send`` returned)."""
        pending = list(sent)
        if pending:
            await asyncio.gather(*pending)

    async def changelog_handed_over(self) -> None:
        """Wait until table changelog writes left faust's buffer for the Kafka producer.

        faust queues changelog records in a buffer that its commit does not always
        drain (the flush gives up after 0.1 s without progress), so a crash could
        leave the changelog behind offsets already committed.  Waiting here after a
        batch's table writes closes that gap; the producer flush before each commit
        does the rest.
        """
        buffer = self.app.producer.buffer
        while buffer.size:
            await buffer.flush()

    def count(self, what: str, n: int = 1) -> None:
        self.counters[what] += n

    async def dead_letter(self, exc: BaseException, component: str, payload: bytes | None, topic: str,
                          partition: int | None, offset: int | None):
        """Send the dead letter of one failed input to ``hub.dlq``; returns the send's future (Kafka's ack)."""
        letter = dead_letter(exc, component=component, payload=payload, topic=topic, partition=partition, offset=offset)
        sent = await self.out("hub.dlq").send(key=topic.encode(), value=letter)
        self.count("dead_letters")
        return sent


def _faust_app(cfg: StreamsConfig) -> faust.App:
    store = "memory://"
    if cfg.store == "rocksdb":
        store = "rocksdb://"
    return faust.App(
        cfg.app_id,
        broker=f"kafka://{cfg.bootstrap_servers.replace(',', ';kafka://')}",
        store=store,
        datadir=str(cfg.data_dir / "streams" / cfg.worker_name),
        processing_guarantee=cfg.processing_guarantee,
        topic_partitions=cfg.partitions,
        topic_allow_declare=True,
        topic_disable_leader=True,
        key_serializer="raw",
        value_serializer="raw",
        producer_linger=0.01,
        producer_max_batch_size=262_144,
        producer_acks=-1,
        broker_session_timeout=cfg.session_timeout,
        broker_heartbeat_interval=max(1.0, cfg.session_timeout / 5),
        broker_request_timeout=max(40.0, cfg.session_timeout * 4),
        broker_rebalance_timeout=max(30.0, cfg.session_timeout * 3),
        broker_commit_every=5000,
        broker_commit_interval=1.0,
        broker_max_poll_records=2000,
        stream_buffer_maxsize=8192,
        stream_wait_empty=True,  # a rebalance waits for the batch in flight: its table writes must reach the changelog before recovery reads it
        table_standby_replicas=cfg.standby_replicas,
        table_recovery_replicas=cfg.standby_replicas,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        autodiscover=False,
        table_cleanup_interval=timedelta(minutes=5).total_seconds(),
    )


def create_app(cfg: StreamsConfig, *, agents: tuple[str, ...] = ("registrar", "recognise")) -> HubStreams:
    """Build the app, its output topics (Avro codecs) and the chosen agents; start nothing."""
    from streams.agents import install_registrar_router
    from streams.recognise import install_recogniser

    codec = HubCodec(cfg.registry_url, cfg.topic_prefix)
    codec.add_topic(cfg.registrar_by_esi_topic, "RegistrarDecision")
    hub = HubStreams(_faust_app(cfg), cfg, codec)
    use_rebalance_safe_consumer(hub.app)
    outputs = [cfg.topic(n) for n in OUTPUT_TOPICS]
    register_faust_codecs(codec, outputs)
    for name in outputs:
        hub.topics[name] = hub.app.topic(name, key_serializer="raw", value_serializer=faust_codec_name(name), partitions=cfg.partitions)
    installers = {"registrar": install_registrar_router, "recognise": install_recogniser}
    for name in agents:
        installers[name](hub)
    return hub


def ensure_streams_topics(cfg: StreamsConfig, replication_factor: int = 1, engine: str | None = None) -> list[str]:
    """Create the catalogue topics under the config's prefix and the registrar re-key topic (idempotent)."""
    from hub.broker import create_topics
    from schemas.catalogue import TOPICS
    from streams import normalise_stage, recognise_stage

    specs = {cfg.topic(t.name): t.compacted for t in TOPICS}
    specs[normalise_stage.state_topic(cfg)] = True
    specs[recognise_stage.state_topic(cfg)] = True
    specs[cfg.registrar_by_esi_topic] = False
    for table in TABLES:  # faust would create them lazily, racing the first write
        specs[f"{cfg.app_id}-{table}-changelog"] = True
    return create_topics(cfg.bootstrap_servers, specs, cfg.partitions, replication_factor, engine=engine)
