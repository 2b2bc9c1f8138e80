"""Broker processes: a restart keeps Kafka's records, and no broker outlives its parent, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer

from hub.broker import BrokerStartFailed, EngineUnavailable, create_topics, pid_alive, start_broker
from tests.conftest import require_service

ENGINES = [pytest.param("kafka", marks=pytest.mark.slow), pytest.param("tansu", marks=pytest.mark.tansu)]


def _own_broker(engine: str, data_dir: Path):
    """A broker for this test alone (it gets restarted or killed), or skip/fail naming what is missing."""
    try:
        return start_broker(engine, data_dir, port=0)
    except EngineUnavailable as exc:
        require_service(f"the {engine} broker engine", str(exc))


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_kafka_restart_keeps_every_record_and_stop_leaves_no_process(tmp_path):
    broker = _own_broker("kafka", tmp_path)
    with broker:
        topic = "restart-check"
        create_topics(broker.bootstrap_servers, {topic: False}, partitions=3)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, enable_idempotence=True, acks="all")
        for i in range(100):
            producer.send(topic, key=str(i % 9).encode(), value=str(i).encode())
        producer.flush()
        producer.close()
        first_pid, address = broker.pid, broker.bootstrap_servers

        broker.restart()

        assert broker.bootstrap_servers == address
        assert broker.pid != first_pid and not pid_alive(first_pid)
        consumer = KafkaConsumer(topic, bootstrap_servers=address, auto_offset_reset="earliest", enable_auto_commit=False)
        values: set[int] = set()
        deadline = time.monotonic() + 60
        while len(values) < 100 and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.update(int(r.value) for r in records)
        consumer.close()
        assert values == set(range(100))
        last_pid = broker.pid
    assert broker.pid is None
    assert not pid_alive(last_pid)


@pytest.mark.parametrize("engine", ENGINES)
def test_killing_the_parent_leaves_no_broker(engine, tmp_path):
    script = textwrap.dedent("""
        import sys, time
        from hub.broker import EngineUnavailable, start_broker
        try:
            broker = start_broker(sys.argv[1], sys.argv[2], port=0)
        except EngineUnavailable as exc:
            print("unavailable", exc, flush=True)
            sys.exit(3)
        print("pid", broker.pid, flush=True)
        time.sleep(600)
    """)
    errors = tmp_path / "parent-stderr.log"
    parent = subprocess.Popen([sys.executable, "-c", script, engine, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=errors.open("w"), text=True, cwd=Path(__file__).parents[2])
    line: list[str] = []
    try:
        for text in parent.stdout:  # log lines first, then "pid N" or "unavailable why"
            if text.startswith(("pid ", "unavailable ")):
                line = text.split(maxsplit=1)
                break
    finally:
        if parent.poll() is None:
            parent.send_signal(signal.SIGKILL)
        parent.wait(10)
    if line and line[0] == "unavailable":
        require_service(f"the {engine} broker engine", line[1])
    assert line and line[0] == "pid", f"the child never reported a broker pid; its stderr:\n{errors.read_text()[-3000:]}"
    broker_pid = int(line[1])
    try:
        assert _gone_within(broker_pid, 15), f"broker pid {broker_pid} survived its SIGKILLed parent"
    finally:
        if pid_alive(broker_pid):
            os.kill(broker_pid, signal.SIGKILL)


def test_a_broker_that_cannot_start_says_why_after_its_retries(tmp_path):
    try:
        broker_start = start_broker("kafka", tmp_path, port=0, heap_mb=1, attempts=2)
    except EngineUnavailable as exc:
        require_service("the kafka broker engine", str(exc))
    except BrokerStartFailed as exc:
        assert "after 2 attempts" in str(exc)
        assert "Too small maximum heap" in exc.output_tail
    else:
        broker_start.stop()
        pytest.fail("a JVM with a 1 MiB heap answered metadata requests")
