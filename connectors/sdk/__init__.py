"""The connector SDK: a partner declares sources and typed mappings; the SDK runs the loop.

A connector is one module in ``connectors/partners/`` (plus an optional TOML
settings file of the same name)::

    class Deggendorf(Connector):
        hei = "th-deg.de"
        settings_class = Settings
        mappings = {"grades": grade}           # source name -> typed mapping function

        def sources(self, s: Settings):
            return [FileDropSource("grades", s.folder, delimiter=";", decimal_separator=",")]

The SDK polls, pages, retries with back-off, validates each mapped event, derives
a stable ``event_id``, publishes Avro to ``sis.<hei>.<kind>`` with ``acks=all``,
saves the cursor only after Kafka acknowledged, and sends bad records to
``hub.dlq`` with the reason. See ``Connector``, ``Source`` and ``ConnectorSettings``.
"""

from connectors.sdk._connector import Connector
from connectors.sdk._discover import discover, find_connector
from connectors.sdk._errors import (
    ConfigError,
    ConnectorError,
    PublishFailed,
    RecordRejected,
    Skip,
    SourceUnavailable,
    StopConnector,
)
from connectors.sdk._process import DLQ_TOPIC, Outcome, Output, Processor, derive_event_id, event_key, local_avro
from connectors.sdk._publish import KafkaPublisher, MemoryPublisher, Publisher, RegistrySerializer, Serializer
from connectors.sdk._records import BadRecord, Checkpoint, Item, LocalDecimal, NativeRecord, canonical_bytes
from connectors.sdk._retry import Backoff
from connectors.sdk._runner import ConnectorRunner, Totals
from connectors.sdk._settings import ConnectorSettings, env_prefix
from connectors.sdk._source import Source
from connectors.sdk._store import CursorStore

__all__ = [
    "DLQ_TOPIC",
    "Backoff",
    "BadRecord",
    "Checkpoint",
    "ConfigError",
    "Connector",
    "ConnectorError",
    "ConnectorRunner",
    "ConnectorSettings",
    "CursorStore",
    "Item",
    "KafkaPublisher",
    "LocalDecimal",
    "MemoryPublisher",
    "NativeRecord",
    "Outcome",
    "Output",
    "Processor",
    "PublishFailed",
    "Publisher",
    "RecordRejected",
    "RegistrySerializer",
    "Serializer",
    "Skip",
    "Source",
    "SourceUnavailable",
    "StopConnector",
    "Totals",
    "canonical_bytes",
    "derive_event_id",
    "discover",
    "env_prefix",
    "event_key",
    "find_connector",
    "local_avro",
]
