"""What a stage's checkpoint waits for, driven without a broker: outputs acknowledged before state rows are written,
state rows acknowledged before offsets are committed, and batches in between that wait for neither."""

from __future__ import annotations

import asyncio
from collections import namedtuple

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError

from streams.batch_stage import BatchStage
from streams.config import StreamsConfig

Record = namedtuple("Record", "topic partition offset key value")


class _Builder:
    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes]] = []

    def append(self, timestamp, key, value, headers):
        self.records.append((key, value))
        return True


class _Producer:
    """Hands out one unresolved future per record batch, as a broker that has not answered yet."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, list, asyncio.Future]] = []

    def create_batch(self) -> _Builder:
        return _Builder()

    async def send_batch(self, builder, topic, partition):
        future = asyncio.get_running_loop().create_future()
        self.sent.append((topic, partition, builder.records, future))
        return future

    async def partitions_for(self, topic):
        return {0, 1}

    def acknowledge(self, topic: str, error: Exception | None = None) -> None:
        for t, _, _, future in self.sent:
            if t == topic and not future.done():
                future.set_exception(error) if error else future.set_result(None)

    def records(self, topic: str) -> list:
        return [r for t, _, records, _ in self.sent if t == topic for r in records]


class _Consumer:
    def __init__(self) -> None:
        self.commits: list[dict] = []

    async def commit(self, offsets) -> None:
        self.commits.append(dict(offsets))


class _Echo(BatchStage):
    """Sends each input on to ``out`` and keeps its value as the key's state."""

    name = "echo"

    async def process(self, polled):
        sends, changed = [], {}
        for tp, records in polled.items():
            for r in records:
                sends.append(await self._send("out", r.key, r.value, None))
                changed[(tp.partition, r.key)] = r.value
        return sends, changed


@pytest.fixture
def stage(tmp_path):
    cfg = StreamsConfig(bootstrap_servers="127.0.0.1:9", registry_url="http://127.0.0.1:9", data_dir=tmp_path)
    s = _Echo(cfg, inputs=["in"], group="g", state_topic="state")
    s.producer, s.consumer = _Producer(), _Consumer()
    yield s
    s.store.close()


def _poll(*keys: bytes, offset: int = 0) -> dict:
    tp = TopicPartition("in", 0)
    return {tp: [Record("in", 0, offset + i, k, b"v-" + k) for i, k in enumerate(keys)]}


async def _turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_batches_go_on_unacknowledged_and_a_checkpoint_waits_for_outputs_then_rows(stage):
    async def go():
        p, c = stage.producer, stage.consumer
        await stage._batch(_poll(b"a", b"b"))
        await stage._batch(_poll(b"c", offset=2))  # the first batch's outputs are not acknowledged yet
        assert [k for k, _ in p.records("out")] == [b"a", b"b", b"c"] and not p.records("state") and not c.commits
        checkpoint = asyncio.create_task(stage.checkpoint())
        await _turns()
        assert not checkpoint.done() and not p.records("state")  # no state row before the outputs it follows from
        p.acknowledge("out")
        await checkpoint
        assert sorted(p.records("state")) == [(b"a", b"v-a"), (b"b", b"v-b"), (b"c", b"v-c")]
        assert not c.commits  # the rows are not acknowledged: offsets wait
        await stage._batch(_poll(b"d", offset=3))  # and batches go on meanwhile
        settle = asyncio.create_task(stage.settle())
        await _turns()
        assert not settle.done() and not c.commits
        p.acknowledge("state")
        await settle
        assert c.commits == [{TopicPartition("in", 0): 3}]  # what the checkpoint's rows cover, not the later batch

    asyncio.run(go())


def test_an_output_kafka_refused_fails_the_checkpoint_and_nothing_is_committed(stage):
    async def go():
        p, c = stage.producer, stage.consumer
        await stage._batch(_poll(b"a"))
        p.acknowledge("out", KafkaTimeoutError())
        with pytest.raises(KafkaTimeoutError):
            await stage.checkpoint()
        assert not p.records("state") and not c.commits

    asyncio.run(go())
