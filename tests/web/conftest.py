"""Fixtures of the web app tests: a site over a real ledger, with and without Kafka (see site.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.site import Site, start_site, unique_prefix


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The web app over a loaded ledger, without Kafka (approvals answer 503)."""
    running = start_site(tmp_path_factory.mktemp("web"))
    try:
        yield running
    finally:
        running.running.stop()
        running.ledger.close()


@pytest.fixture(scope="module")
def kafka_site(tmp_path_factory: pytest.TempPathFactory, broker, session_registry) -> Iterator[Site]:
    """The web app with the session broker and registry; its registrar topics carry a prefix of their own."""
    from hub.broker import create_topics
    from schemas.catalogue import registrar_topic
    from schemas.institutions import SCHAC_CODES

    prefix = unique_prefix()
    create_topics(broker.bootstrap_servers, {f"{prefix}{registrar_topic(h)}": False for h in SCHAC_CODES}, 1, engine=broker.engine)
    running = start_site(tmp_path_factory.mktemp("web-kafka"), bootstrap_servers=broker.bootstrap_servers,
                         registry_url=session_registry.url, topic_prefix=prefix)
    running.prefix = prefix
    try:
        yield running
    finally:
        running.running.stop()
        running.ledger.close()
