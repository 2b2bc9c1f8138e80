"""Admin connections to a broker, with kafka-python's errors translated into ones that say what to do."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from hub.broker._errors import BrokerError


@contextmanager
def admin_client(bootstrap_servers: str, timeout_s: float = 15.0) -> Iterator[KafkaAdminClient]:
    """A kafka-python admin client; BrokerError (naming the address) if the cluster does not answer."""
    try:
        client = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers, client_id="hub-admin",
            bootstrap_timeout_ms=int(timeout_s * 1000), request_timeout_ms=int(timeout_s * 1000),
        )
    except KafkaError as exc:
        raise BrokerError(
            f"no Kafka broker answers at {bootstrap_servers} ({exc}): start one with `hub broker`, "
            "or fix HUB_BOOTSTRAP_SERVERS / --bootstrap-servers"
        ) from exc
    try:
        yield client
    finally:
        client.close()


@contextmanager
def _quiet_kafka_logs() -> Iterator[None]:
    """kafka-python logs every refused connection at ERROR; while polling a starting broker that is expected."""
    logger = logging.getLogger("kafka")
    before = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(before)


def _port_open(bootstrap_servers: str) -> bool:
    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1):
            return True
    except OSError:
        return False


def metadata_answers(bootstrap_servers: str, timeout_s: float = 5.0) -> bool:
    """True when a metadata request lists at least one (unfenced) broker."""
    if not _port_open(bootstrap_servers):
        return False
    try:
        with _quiet_kafka_logs(), admin_client(bootstrap_servers, timeout_s) as admin:
            return bool(admin.describe_cluster().get("brokers"))
    except (BrokerError, KafkaError, OSError):
        return False


def wait_until_ready(bootstrap_servers: str, timeout_s: float, still_running: Callable[[], bool] = lambda: True) -> bool:
    """Poll until metadata answers (True), the process exits or the timeout passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not still_running():
            return False
        if metadata_answers(bootstrap_servers, timeout_s=min(5.0, max(1.0, deadline - time.monotonic()))):
            return True
        time.sleep(0.2)
    return False
