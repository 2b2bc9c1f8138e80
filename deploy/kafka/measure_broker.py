"""Measure an embedded broker engine: start time, memory, rates, end offsets, group join, transactions, compaction.

    python deploy/kafka/measure_broker.py kafka   [--records 200000] [--heap-mb 384]
    python deploy/kafka/measure_broker.py tansu

Starts its own broker in a temporary folder and prints one ``name: value`` line
per fact (the table in deploy/kafka/README.md came from these runs).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from hub.broker import create_topics, start_broker

VALUE = b"x" * 300


async def rates(bootstrap: str, records: int) -> tuple[float, float, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=65536)
    await producer.start()
    started = time.monotonic()
    for i in range(records):
        await producer.send("measure", VALUE, key=str(i % 1000).encode())
    await producer.flush()
    produce = records / (time.monotonic() - started)
    await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, max_partition_fetch_bytes=4 << 20)
    await consumer.start()
    partitions = [TopicPartition("measure", p) for p in range(6)]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    started, seen = time.monotonic(), 0
    while seen < records:
        seen += sum(len(r) for r in (await consumer.getmany(timeout_ms=1000, max_records=10000)).values())
    consume = records / (time.monotonic() - started)
    ends = await consumer.end_offsets(partitions)
    await consumer.stop()
    return produce, consume, sum(ends.values())


async def group_join(bootstrap: str, group: str, session_timeout_ms: int) -> float:
    started = time.monotonic()
    consumer = AIOKafkaConsumer("measure", bootstrap_servers=bootstrap, group_id=group, session_timeout_ms=session_timeout_ms)
    await consumer.start()
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=100)
    joined = time.monotonic() - started
    await consumer.stop()
    return joined


async def producer_works(bootstrap: str, **options: object) -> str:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **options)
    started = time.monotonic()
    try:
        await asyncio.wait_for(producer.start(), 30)
        if "transactional_id" in options:
            async with producer.transaction():
                await producer.send("measure", b"t")
        else:
            await producer.send_and_wait("measure", b"i")
        return f"works ({time.monotonic() - started:.2f}s)"
    except Exception as exc:  # noqa: BLE001 - the failure is the measurement
        return f"fails: {type(exc).__name__}: {exc}"
    finally:
        await producer.stop()


def compaction_config(bootstrap: str) -> str:
    create_topics(bootstrap, {"measure-compacted": True}, 1)  # configs sent on every engine
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "measure-compacted")])["topic"]
        return str(found.get("measure-compacted", {}).get("cleanup.policy", {}).get("value", "not reported"))
    except Exception as exc:  # noqa: BLE001
        return f"describe fails: {exc}"
    finally:
        admin.close()


def heap_used_mib(pid: int) -> str:
    try:
        out = subprocess.run(["jstat", "-gc", str(pid)], capture_output=True, text=True, timeout=20).stdout.split("\n")
        row = dict(zip(out[0].split(), map(float, out[1].split())))
        return f"{(row['S0U'] + row['S1U'] + row['EU'] + row['OU']) / 1024:.0f} MiB now (old gen {row['OU'] / 1024:.0f} MiB, full GCs {row['FGC']:.0f})"
    except (OSError, IndexError, KeyError, ValueError, subprocess.TimeoutExpired):
        return "jstat not available"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=["kafka", "tansu"])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--heap-mb", type=int, default=384)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        started = time.monotonic()
        with start_broker(args.engine, data_dir, port=0, heap_mb=args.heap_mb) as broker:
            print(f"start to first metadata answer: {time.monotonic() - started:.1f}s")
            bs = broker.bootstrap_servers
            create_topics(bs, {"measure": False}, 6, engine=broker.engine)
            produce, consume, ends = asyncio.run(rates(bs, args.records))
            print(f"aiokafka produce: {produce:,.0f}/s, consume: {consume:,.0f}/s ({args.records:,} x 300 B, acks=all)")
            print(f"end_offsets sum: {ends:,} for {args.records:,} produced")
            session = int(broker.client_hints.get("session_timeout_ms", 10_000))
            joins = [asyncio.run(group_join(bs, group, session)) for group in ("g1", "g1", "g2")]
            print("group join (first, rejoin, new group): " + ", ".join(f"{j:.2f}s" for j in joins))
            print("aiokafka idempotent producer: " + asyncio.run(producer_works(bs, enable_idempotence=True)))
            print("aiokafka transactional producer: " + asyncio.run(producer_works(bs, transactional_id="measure-tx")))
            print(f"cleanup.policy of a topic created with compact: {compaction_config(bs)}")
            rss = next(line for line in open(f"/proc/{broker.pid}/status") if line.startswith("VmRSS")).split()[1]
            print(f"broker RSS: {int(rss) // 1024} MiB")
            if broker.engine == "kafka":
                print(f"heap used: {heap_used_mib(broker.pid)}")


if __name__ == "__main__":
    main()
