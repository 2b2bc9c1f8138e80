"""The embedded Kafka broker: Apache Kafka 4.x (KRaft) from Maven Central jars, or Tansu without Java.

::

    from hub.broker import start_broker, ensure_topics

    with start_broker("auto", data_dir=Path(".hub-data")) as broker:
        ensure_topics(broker.bootstrap_servers, engine=broker.engine)
        print(broker.engine, broker.why, broker.bootstrap_servers)

Errors: ``BrokerError`` > ``EngineUnavailable`` (install what it names, or
choose another engine) and ``BrokerStartFailed`` (read the output it quotes).
"""

from hub.broker._choose import choose_engine
from hub.broker._errors import BrokerError, BrokerStartFailed, EngineUnavailable
from hub.broker._jars import kafka_version
from hub.broker._process import pid_alive
from hub.broker._running import RunningBroker
from hub.broker._start import DEFAULT_HEAP_MB, start_broker, start_from_settings
from hub.broker._topics import create_topics, ensure_topics, topic_configs

__all__ = [
    "DEFAULT_HEAP_MB",
    "BrokerError",
    "BrokerStartFailed",
    "EngineUnavailable",
    "RunningBroker",
    "choose_engine",
    "create_topics",
    "ensure_topics",
    "kafka_version",
    "pid_alive",
    "start_broker",
    "start_from_settings",
    "topic_configs",
]
