"""The two baselines ``bench.pipeline`` measures next to the pipeline, on the same broker and records.

- ``faust``: a bare faust worker whose agent forwards each raw value to another topic
  (no decode, no state): the ceiling of any faust stage on one core;
- ``aiokafka``: a plain aiokafka consumer/producer doing decode -> encode -> produce
  of every record through the hub's serde, batched with ``getmany``.

Run one as ``python -m bench.baselines faust|aiokafka --topics a,b --count N --out result.json``;
it prints and writes ``{"events": N, "seconds": s, "events_per_s": r}`` (first to last record).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path


def _report(out: Path, n: int, t0: float) -> None:
    dt = time.perf_counter() - t0
    out.write_text(json.dumps({"events": n, "seconds": round(dt, 3), "events_per_s": round(n / dt, 1)}))


def faust_passthrough(bootstrap: str, topics: list[str], count: int, out: Path, datadir: Path) -> None:
    import faust

    app = faust.App(f"bench-pass-{uuid.uuid4().hex[:8]}", broker=f"kafka://{bootstrap}", value_serializer="raw", key_serializer="raw",
                    store="memory://", web_enabled=False, autodiscover=False, consumer_auto_offset_reset="earliest",
                    producer_linger=0.01, producer_max_batch_size=262_144, broker_session_timeout=10, datadir=str(datadir))
    dest = app.topic(f"{topics[0]}.bench-pass-{uuid.uuid4().hex[:6]}", value_serializer="raw", key_serializer="raw")
    seen = {"n": 0, "t0": 0.0}

    @app.agent(app.topic(*topics, value_serializer="raw", key_serializer="raw"))
    async def passthrough(stream):
        async for key, value in stream.items():
            if seen["n"] == 0:
                seen["t0"] = time.perf_counter()
            await dest.send(key=key, value=value)
            seen["n"] += 1
            if seen["n"] >= count:
                _report(out, seen["n"], seen["t0"])
                os._exit(0)

    datadir.mkdir(parents=True, exist_ok=True)
    faust.Worker(app, loglevel="error", quiet=True).execute_from_commandline()


async def aiokafka_stage(bootstrap: str, registry: str, topics: list[str], count: int, out: Path) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from streams.codec import HubCodec

    prefix = topics[0].split("sis.")[0]
    codec = HubCodec(registry, prefix)
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=f"bench-aio-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=10, max_batch_size=262_144)
    await consumer.start()
    await producer.start()
    n, t0 = 0, 0.0
    try:
        while n < count:
            polled = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, msgs in polled.items():
                if n == 0 and msgs:
                    t0 = time.perf_counter()
                kind = tp.topic.rsplit(".", 1)[1]
                dest = f"{prefix}hub.{kind}"
                for m in msgs:
                    event = codec.decode(m.topic, m.value, m.partition, m.offset)
                    await producer.send(dest + ".bench-aio", codec.encode(dest, event), key=m.key)
                n += len(msgs)
        await producer.flush()
        _report(out, n, t0)
    finally:
        await consumer.stop()
        await producer.stop()


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.baselines")
    ap.add_argument("kind", choices=["faust", "aiokafka"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--registry", default="")
    ap.add_argument("--topics", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    topics = a.topics.split(",")
    if a.kind == "faust":
        faust_passthrough(a.bootstrap, topics, a.count, a.out, a.out.parent / f"faust-{os.getpid()}")
    else:
        asyncio.run(aiokafka_stage(a.bootstrap, a.registry, topics, a.count, a.out))


if __name__ == "__main__":
    main(sys.argv[1:])
