"""Fixtures shared by every test, in sections; add new services as new sections.

1. Services: ``require_service`` skips a test whose service is missing, or fails
   it when ``HUB_REQUIRE_SERVICES=1`` (CI), so a missing service never passes
   silently there.
2. Broker: ONE embedded broker for the whole session (``broker``), started on
   first use with every catalogue topic; ``HUB_TEST_BROKER`` = auto (default),
   kafka or tansu. ``apache_kafka`` is the same broker for tests that need real
   Kafka semantics (skipped on Tansu). ``fresh_topic`` makes a topic per test.
   CI's short Tansu pass: ``HUB_TEST_BROKER=tansu pytest -m tansu``; mark a test
   ``@pytest.mark.tansu`` when it must also hold on Tansu.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import NoReturn

import pytest

# --- 1. Services ------------------------------------------------------------------


def require_service(what: str, reason: str) -> NoReturn:
    """Skip the calling test because ``what`` is unusable (``reason``); fail instead under HUB_REQUIRE_SERVICES=1."""
    if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required (HUB_REQUIRE_SERVICES=1) but {reason}", pytrace=False)
    pytest.skip(f"{what} not available: {reason}")


# --- 2. Broker --------------------------------------------------------------------


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator["RunningBroker"]:  # noqa: F821
    """The session's broker, with every catalogue topic; stopped at the end of the session."""
    from hub.broker import BrokerStartFailed, EngineUnavailable, ensure_topics, start_broker

    engine = os.environ.get("HUB_TEST_BROKER", "auto")
    try:
        running = start_broker(engine, tmp_path_factory.mktemp("broker"), port=0)
    except EngineUnavailable as exc:
        require_service(f"a Kafka broker (HUB_TEST_BROKER={engine})", str(exc))
    except BrokerStartFailed as exc:
        pytest.fail(f"the {engine} broker did not start: {exc}", pytrace=False)
    try:
        ensure_topics(running.bootstrap_servers, engine=running.engine)
        yield running
    finally:
        running.stop()


@pytest.fixture
def apache_kafka(broker: "RunningBroker") -> "RunningBroker":  # noqa: F821
    """The session broker when it is Apache Kafka; tests of transactions, offsets or persistence use this."""
    if broker.engine == "tansu":
        pytest.skip("needs Apache Kafka semantics; the session broker is Tansu (HUB_TEST_BROKER=tansu or no Java)")
    return broker


@pytest.fixture
def fresh_topic(broker: "RunningBroker") -> Callable[..., str]:  # noqa: F821
    """Factory: ``fresh_topic(prefix="t", partitions=3, compacted=False)`` creates a uniquely named topic."""
    from hub.broker import create_topics

    def make(prefix: str = "t", partitions: int = 3, compacted: bool = False) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        create_topics(broker.bootstrap_servers, {name: compacted}, partitions, engine=broker.engine)
        return name

    return make


# --- 3. Schema registry -------------------------------------------------------------


@pytest.fixture(scope="session")
def session_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator["RunningRegistry"]:  # noqa: F821
    """ONE embedded schema registry for the session, on a free loopback port, with every catalogue subject."""
    from hub.registry import serve_registry
    from schemas.registry_client import RegistryClient, register_all

    with serve_registry(tmp_path_factory.mktemp("registry"), port=0) as running:
        with RegistryClient(running.url) as client:
            register_all(client)
        yield running


@pytest.fixture
def session_registry_client(session_registry: "RunningRegistry") -> Iterator["RegistryClient"]:  # noqa: F821
    """A fresh client (empty caches) of the session registry."""
    from schemas.registry_client import RegistryClient

    with RegistryClient(session_registry.url) as client:
        yield client
