"""A cluster id that starts with "-" (1 in 64 random ids) still formats and starts Apache Kafka."""

from __future__ import annotations

import pytest

from hub.broker import EngineUnavailable, ensure_topics, start_broker
from tests.conftest import require_service

pytestmark = pytest.mark.kafka


def test_a_cluster_id_starting_with_a_dash_formats_and_starts(tmp_path):
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "cluster.id").write_text("-bASD2NHTFyXQzZHazx3Jg\n")
    try:
        broker = start_broker("kafka", tmp_path, port=0)
    except EngineUnavailable as exc:
        require_service("Apache Kafka (Java >= 17 and Maven)", str(exc))
    with broker:
        assert broker.engine == "kafka"
        assert len(ensure_topics(broker.bootstrap_servers, engine=broker.engine)) > 0
