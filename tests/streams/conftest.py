"""Fixtures of the stream tests: a registry, and pipelines (workers + ledger writer) under unique topic prefixes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams.config import StreamsConfig


@pytest.fixture(scope="session")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from hub.registry import serve_registry

    with serve_registry(tmp_path_factory.mktemp("streams-registry"), port=0) as running:
        yield running.url


class Pipeline:
    """Workers and the ledger writer of one test, on its own topics (prefix) and its own ledger."""

    def __init__(self, cfg: StreamsConfig, workers: int, keep_alive: bool = True) -> None:
        from streams.app import ensure_streams_topics
        from streams.ledger import Ledger
        from streams.supervisor import Supervisor

        self.cfg = cfg
        ensure_streams_topics(cfg)
        self.ledger = Ledger(cfg.ledger_url)
        self.supervisor = Supervisor(cfg, workers, ledger=True, loglevel="warning", keep_alive=keep_alive)

    def start(self) -> "Pipeline":
        self.supervisor.start()
        return self

    def publish(self, events, **kw) -> int:
        from bench.alliance import publish

        return publish(events, self.cfg.bootstrap_servers, self.cfg.registry_url, self.cfg.topic_prefix, **kw)

    def current(self) -> dict[tuple[str, str], tuple[str, object]]:
        """(mobility, component) -> (status, ECTS) in the ledger; withdrawn decisions (R4-withdrawn) count as none."""
        return {(r["omobility_id"], r["home_component"]): (r["status"], r["ects"]) for r in self.ledger.items()
                if r["rule"] != "R4-withdrawn"}

    def wait_for(self, expected: dict, timeout: float = 150.0) -> dict:
        """Poll the ledger until it equals ``expected`` (returns it), or until ``timeout``: then the last state."""
        deadline = time.monotonic() + timeout
        rows: dict = {}
        while time.monotonic() < deadline:
            rows = self.current()
            if rows == expected:
                return rows
            time.sleep(1.0)
        return rows

    def dead_letters(self, timeout: float = 5.0) -> list:
        return [event for _, event in self.records("hub.dlq", timeout)]

    def records(self, name: str, timeout: float = 5.0) -> list:
        """(Kafka record, decoded event) of everything on the catalogue topic ``name`` so far."""
        import asyncio

        from aiokafka import AIOKafkaConsumer

        from streams.codec import HubCodec

        async def read() -> list:
            topic = self.cfg.topic(name)
            codec = HubCodec(self.cfg.registry_url, self.cfg.topic_prefix)
            c = AIOKafkaConsumer(topic, bootstrap_servers=self.cfg.bootstrap_servers, auto_offset_reset="earliest", enable_auto_commit=False)
            await c.start()
            out = []
            try:
                while True:
                    got = await c.getmany(timeout_ms=int(timeout * 1000))
                    if not got:
                        return out
                    for msgs in got.values():
                        out.extend((m, codec.decode(m.topic, m.value, m.partition, m.offset)) for m in msgs)
            finally:
                await c.stop()
                codec.close()

        return asyncio.run(read())

    def stop(self) -> None:
        self.supervisor.stop()
        self.ledger.close()


@pytest.fixture
def pipeline(broker, registry_url: str, tmp_path: Path) -> Iterator[Callable[..., Pipeline]]:
    """Factory: ``pipeline(workers=1, ledger_url=None)`` -> a started Pipeline on fresh topics; stopped after the test."""
    made: list[Pipeline] = []

    def make(workers: int = 1, ledger_url: str | None = None, start: bool = True, **overrides) -> Pipeline:
        tag = uuid.uuid4().hex[:8]
        cfg = StreamsConfig(
            bootstrap_servers=broker.bootstrap_servers, registry_url=registry_url, data_dir=tmp_path / tag,
            app_id=f"test-{tag}", topic_prefix=f"t{tag}.", ledger_url=ledger_url or f"sqlite:///{tmp_path / tag}-ledger.sqlite",
            session_timeout=6.0, **overrides,
        )
        p = Pipeline(cfg, workers)
        made.append(p)
        return p.start() if start else p

    yield make
    for p in made:
        p.stop()
