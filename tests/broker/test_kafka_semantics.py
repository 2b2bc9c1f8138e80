"""What Apache Kafka gives the hub and Tansu does not: transactions, true end offsets, idempotent producers."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from kafka import KafkaConsumer, KafkaProducer


async def _read_all(bootstrap: str, topic: str, partition_count: int, isolation_level: str) -> list[bytes]:
    """Every value a fresh consumer with ``isolation_level`` can read, up to the end it reports."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation_level, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(partition_count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        values: list[bytes] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=1000)
            values += [record.value for records in batches.values() for record in records]
        return values
    finally:
        await consumer.stop()


def test_aborted_transactions_stay_invisible_to_read_committed(apache_kafka, fresh_topic):
    topic = fresh_topic("txn", partitions=1)

    async def scenario() -> tuple[list[bytes], list[bytes]]:
        producer = AIOKafkaProducer(bootstrap_servers=apache_kafka.bootstrap_servers, transactional_id=f"{topic}-tx")
        await producer.start()
        try:
            await producer.begin_transaction()
            for i in range(3):
                await producer.send_and_wait(topic, f"aborted-{i}".encode())
            await producer.abort_transaction()
            async with producer.transaction():
                for i in range(2):
                    await producer.send(topic, f"committed-{i}".encode())
        finally:
            await producer.stop()
        committed = await _read_all(apache_kafka.bootstrap_servers, topic, 1, "read_committed")
        everything = await _read_all(apache_kafka.bootstrap_servers, topic, 1, "read_uncommitted")
        return committed, everything

    committed, everything = asyncio.run(scenario())
    assert committed == [b"committed-0", b"committed-1"]
    assert [v for v in everything if v.startswith(b"aborted")] == [b"aborted-0", b"aborted-1", b"aborted-2"]


def test_end_offsets_count_every_record_produced(apache_kafka, fresh_topic):
    topic = fresh_topic("ends", partitions=3)

    async def scenario() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=apache_kafka.bootstrap_servers, acks="all")
        await producer.start()
        try:
            for i in range(50):
                await producer.send(topic, f"v{i}".encode(), key=f"k{i % 7}".encode())
            await producer.flush()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=apache_kafka.bootstrap_servers)
        await consumer.start()
        try:
            ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(3)])
        finally:
            await consumer.stop()
        return sum(ends.values())

    assert asyncio.run(scenario()) == 50


def test_kafka_python_idempotent_producer_delivers_each_record_once(apache_kafka, fresh_topic):
    topic = fresh_topic("idem", partitions=2)
    producer = KafkaProducer(bootstrap_servers=apache_kafka.bootstrap_servers, enable_idempotence=True, acks="all")
    try:
        metadata = [producer.send(topic, key=f"s{i % 5}".encode(), value=f"{i}".encode()).get(timeout=30) for i in range(20)]
    finally:
        producer.close()
    assert all(m.offset >= 0 for m in metadata)
    consumer = KafkaConsumer(topic, bootstrap_servers=apache_kafka.bootstrap_servers, auto_offset_reset="earliest",
                             enable_auto_commit=False)
    values: list[int] = []
    deadline = time.monotonic() + 30
    try:
        while len(values) < 20 and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values += [int(record.value) for record in records]
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(2)])
    finally:
        consumer.close()
    assert sorted(values) == list(range(20))
    assert sum(ends.values()) == 20  # no duplicate was written
