"""The SDK's front door, its back-off, Retry-After parsing and event ids."""

from __future__ import annotations

import random
import subprocess
import sys

from connectors import sdk
from connectors.sdk import Backoff, derive_event_id
from connectors.sources import retry_after_seconds


def test_front_door_is_pinned():
    """Adding to the public API is a decision: change this list with it."""
    assert sorted(sdk.__all__) == ["Backoff", "BadRecord", "Checkpoint", "ConfigError", "Connector", "ConnectorError", "ConnectorRunner", "ConnectorSettings", "CursorStore", "DLQ_TOPIC", "Item", "KafkaPublisher", "LocalDecimal", "MemoryPublisher", "NativeRecord", "Outcome", "Output", "Processor", "PublishFailed", "Publisher", "RecordRejected", "RegistrySerializer", "Serializer", "Skip", "Source", "SourceUnavailable", "StopConnector", "Totals", "canonical_bytes", "derive_event_id", "discover", "env_prefix", "event_key", "find_connector", "local_avro"]
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None


def test_connectors_import_neither_hub_nor_streams():
    code = ("import sys, connectors.sdk, connectors.sources, connectors.partners.example_csv, connectors.sdk.testing;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('hub', 'streams')]; print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_backoff_grows_with_jitter_and_honours_retry_after():
    b = Backoff(base=1, factor=2, cap=8, rng=random.Random(7))
    delays = [b.next_delay() for _ in range(6)]
    for n, d in enumerate(delays):
        ceiling = min(8, 2**n)
        assert ceiling / 2 <= d <= ceiling
    assert Backoff(base=0.1, cap=60).next_delay(retry_after=5) == 5
    assert Backoff(base=0.1, cap=3).next_delay(retry_after=50) == 3


def test_retry_after_seconds_or_date():
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_event_ids_depend_on_identity_and_content_only():
    a = derive_event_id("c", "s", "id1", b"row")
    assert a == derive_event_id("c", "s", "id1", b"row")
    assert len({a, derive_event_id("c", "s", "id2", b"row"), derive_event_id("c", "s", "id1", b"row2"),
                derive_event_id("c", "t", "id1", b"row"), derive_event_id("c", "s", "id1", b"row", index=1)}) == 5
    assert a[14] == "5"  # a version-5 layout UUID


def test_a_broken_partner_module_hides_no_other_connector():
    from connectors.sdk import discover, find_connector
    from connectors.sdk._discover import BROKEN

    found = discover("tests.connectors.fake_partners")
    assert list(found) == ["fake_good"]
    assert "broken on purpose" in BROKEN["tests.connectors.fake_partners.broken"]
    assert find_connector("ucn.dk", "tests.connectors.fake_partners").name == "fake_good"
