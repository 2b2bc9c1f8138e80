"""Avro serde in Confluent framing against the real registry: round trips, evolution, bad bytes."""

from __future__ import annotations

import copy
import io
import struct
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import fastavro
import pytest

from hub.registry import RunningRegistry
from schemas.avro_files import load_schema, parsed_schema
from schemas.catalogue import TOPICS
from schemas.registry_client import RegistryClient, RegistryUnavailable
from schemas.serde import (
    AvroDeserializer,
    AvroSerializer,
    DecodeError,
    Deserializer,
    EncodeError,
    Serializer,
    schema_id_of,
)
from tests.registry.fixtures import registry, subject  # noqa: F401

T0 = datetime(2026, 1, 20, 9, 30, 12, 345000, tzinfo=UTC)
T1 = datetime(2026, 1, 20, 9, 30, 13, 1000, tzinfo=UTC)
ESI = "urn:schac:personalUniqueCode:int:esi:hh.se:19990101-1234"


def envelope(event_type: str, hei: str = "hh.se") -> dict[str, Any]:
    return {
        "event_id": str(uuid.UUID("0b9a3c1e-64a2-4c53-9a61-6b1f2a9f3d01")),
        "event_type": event_type,
        "source_hei": hei,
        "occurred_at": T0,
        "recorded_at": T1,
        "schema_version": 1,
        "trace_id": "trace-7f3a",
    }


def component(code: str, ects: str, conditions: str | None = None) -> dict[str, Any]:
    return {
        "course_code": code,
        "los_id": f"CR/{code}",
        "loi_id": None,
        "title": f"Course {code}",
        "term_id": "2025/2026-1",
        "ects": Decimal(ects),
        "isced_code": "0613",
        "recognition_conditions": conditions,
    }


def table(hei: str, scheme: str, source: str) -> dict[str, Any]:
    return {"hei": hei, "scheme_id": scheme, "reference_group": "0613", "academic_year": "2024/2025", "source": source}


EXAMPLES: dict[str, dict[str, Any]] = {
    "Enrolment": {
        **envelope("EnrolmentRegistered", "fontys.nl"),
        "student_id": "4412345",
        "student_esi": None,
        "hei": "fontys.nl",
        "course_code": "INF-ADS-2",
        "los_id": None,
        "term_id": "2025/2026-1",
        "ects": Decimal("5.00"),
        "status": "REGISTERED",
        "omobility_id": "om-hh-2025-0042",
    },
    "Grade": {
        **envelope("GradeRecorded", "ucn.dk"),
        "student_id": "UCN-778812",
        "student_esi": ESI,
        "hei": "ucn.dk",
        "result_id": "res-ucn-000981",
        "course_code": "CSE-DB1",
        "los_id": "CR/CSE-DB1",
        "loi_id": "CRI/CSE-DB1-2025",
        "isced_code": "0613",
        "grade_label": "02",
        "grading_scheme_id": "ucn.dk/7-point",
        "ects": Decimal("7.50"),
        "assessed_on": date(2026, 1, 14),
        "attempt": 2,
        "status": "CORRECTED",
        "academic_year": "2025/2026",
        "omobility_id": "om-hh-2025-0042",
    },
    "Mobility": {
        **envelope("MobilityLaApproved"),
        "omobility_id": "om-hh-2025-0042",
        "student_esi": ESI,
        "student_id": "19990101-1234",
        "sending_hei": "hh.se",
        "receiving_hei": "ucn.dk",
        "lifecycle": "LA_APPROVED",
        "receiving_academic_year": "2025/2026",
        "isced_code": "0613",
        "planned_start": date(2025, 9, 1),
        "planned_end": date(2026, 1, 31),
        "learning_agreement": {
            "version": 2,
            "changes_id": "chg-118",
            "approved_at": T0,
            "components_studied": [component("CSE-DB1", "7.50"), component("CSE-WEB", "10.00")],
            "components_recognized": [component("DT4012", "7.50"), component("DT4020", "7.50", "thesis rules apply")],
            "recognition_groups": [{"group_id": "g1", "studied": ["CSE-DB1", "CSE-WEB"], "recognized": ["DT4012", "DT4020"]}],
        },
        "tor_deadline_days": None,
        "recognition_deadline_days": 35,
    },
    "MobilityStatus": {
        **envelope("MobilityStatusChanged", "hub"),
        "omobility_id": "om-hh-2025-0042",
        "student_esi": ESI,
        "sending_hei": "hh.se",
        "receiving_hei": "ucn.dk",
        "state": "TOR_ISSUED",
        "la_version": 2,
        "ects_planned": Decimal("17.50"),
        "ects_recognised": Decimal("0.00"),
        "started_on": date(2025, 9, 1),
        "ended_on": date(2026, 1, 31),
        "tor_issued_on": date(2026, 2, 20),
    },
    "DeadlineAlert": {
        **envelope("DeadlineWarning", "hub"),
        "alert_id": "alert-om-hh-2025-0042-RECOGNITION-WARNING",
        "omobility_id": "om-hh-2025-0042",
        "sending_hei": "hh.se",
        "receiving_hei": "ucn.dk",
        "deadline": "RECOGNITION",
        "severity": "WARNING",
        "responsible_hei": "hh.se",
        "due_on": date(2026, 3, 27),
        "days_left": -3,
        "withdrawn": False,
    },
    "DeadLetter": {
        **envelope("DeadLettered", "connector:deg.de"),
        "source_topic": "sis.th-deg.de.grades",
        "source_partition": 3,
        "source_offset": 812,
        "source_location": "",
        "component": "streams:normalise",
        "error_kind": "unknown-grade",
        "reason": "grade '1,7x' is not in scheme th-deg.de/1-5; fix the PRIMUSS export",
        "payload": b"\x00\x00\x00\x00\x07\x02\xffbinary\x00",
    },
    "RecognitionDecision": {
        **envelope("RecognitionDecided", "hub"),
        "decision_id": "dec-7c1e",
        "omobility_id": "om-hh-2025-0042",
        "student_esi": ESI,
        "home_hei": "hh.se",
        "host_hei": "ucn.dk",
        "home_component": "DT4012",
        "home_component_title": "Databases",
        "version": 1,
        "status": "AUTO_RECOGNISED",
        "ects": Decimal("7.50"),
        "converted_grade": "4",
        "home_scheme_id": "hh.se/U345",
        "rule": "R2-all-passed",
        "reason": "All Table A components of group g1 passed.",
        "supersedes": None,
        "decided_by": None,
        "provenance": {
            "la_version": 2,
            "group_id": "g1",
            "host_grades": [
                {
                    "result_id": "res-ucn-000981",
                    "course_code": "CSE-DB1",
                    "grade_label": "02",
                    "grading_scheme_id": "ucn.dk/7-point",
                    "ects": Decimal("7.50"),
                    "attempt": 2,
                    "passed": True,
                    "event_id": str(uuid.UUID(int=7)),
                }
            ],
            "conversion": {
                "method": "BAND_OVERLAP",
                "host_tables": [table("ucn.dk", "ucn.dk/7-point", "FIELD")],
                "home_table": table("hh.se", "hh.se/U345", "INSTITUTION"),
                "host_bands": [{"label": "02", "lower": 88.5, "upper": 100.0}],
                "home_band": {"label": "3", "lower": 70.0, "upper": 100.0},
                "point": None,
            },
            "input_event_ids": [str(uuid.UUID(int=7)), str(uuid.UUID(int=8))],
        },
    },
    "RegistrarDecision": {
        **envelope("RegistrarApproved"),
        "decision_id": "dec-7c1e",
        "omobility_id": "om-hh-2025-0042",
        "home_hei": "hh.se",
        "home_component": "DT4020",
        "action": "APPROVE",
        "reason": "Thesis supervisor confirmed equivalence.",
        "registrar": "registrar.anna",
        "ects": Decimal("7.50"),
        "converted_grade": None,
        "student_esi": "urn:schac:personalUniqueCode:int:esi:hh.se:199001011234",
    },
}
TOPIC_OF = {name: next(t.name for t in TOPICS if t.value_schema == name) for name in EXAMPLES}


@pytest.fixture
def client(registry: RunningRegistry) -> Iterator[RegistryClient]:  # noqa: F811
    with RegistryClient(registry.url) as c:
        yield c


def test_every_record_has_an_example() -> None:
    assert set(EXAMPLES) == {t.value_schema for t in TOPICS}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_round_trip(client: RegistryClient, name: str) -> None:
    topic = TOPIC_OF[name]
    serializer = AvroSerializer(client, topic)
    data = serializer.serialize(EXAMPLES[name])
    assert data[0] == 0 and schema_id_of(data) == serializer.schema_id == client.latest(f"{topic}-value").id
    plain = io.BytesIO()
    fastavro.schemaless_writer(plain, parsed_schema(name), EXAMPLES[name])
    assert data[5:] == plain.getvalue(), "the body is plain Avro binary, readable by any Confluent deserializer"
    assert AvroDeserializer(client).deserialize(data, topic=topic, partition=0, offset=1) == EXAMPLES[name]
    assert AvroDeserializer(client).deserialize(data) == EXAMPLES[name], "readable with the writer's schema alone"


def test_protocols_and_types(client: RegistryClient) -> None:
    serializer, deserializer = AvroSerializer(client, "hub.grades"), AvroDeserializer(client)
    assert isinstance(serializer, Serializer) and isinstance(deserializer, Deserializer)
    record = deserializer.deserialize(serializer.serialize(EXAMPLES["Grade"]), "hub.grades")
    assert type(record["event_id"]) is str and record["occurred_at"].tzinfo is not None
    assert isinstance(record["ects"], Decimal) and type(record["assessed_on"]) is date


def test_registry_asked_once_per_schema(registry: RunningRegistry) -> None:  # noqa: F811
    seen: list[str] = []
    client = RegistryClient(registry.url)
    client._http.event_hooks["request"].append(lambda request: seen.append(request.url.path))
    serializer, deserializer = AvroSerializer(client, "sis.hh.se.grades"), AvroDeserializer(RegistryClient(registry.url))
    for _ in range(200):
        deserializer.deserialize(serializer.serialize(EXAMPLES["Grade"]), "sis.hh.se.grades")
    assert seen == ["/subjects/sis.hh.se.grades-value/versions"]


def test_evolution_old_writer_new_reader(client: RegistryClient, subject: Callable[[str], str]) -> None:  # noqa: F811
    """Written with v1 (no home_component_title yet), read with v2 that added it with a default."""
    v2 = load_schema("RecognitionDecision")
    v1 = copy.deepcopy(v2)
    v1["fields"] = [f for f in v1["fields"] if f["name"] != "home_component_title"]
    topic = subject("decisions")
    old = {k: v for k, v in EXAMPLES["RecognitionDecision"].items() if k != "home_component_title"}
    data = AvroSerializer(client, topic, schema=v1).serialize(old)
    client.register(f"{topic}-value", v2)
    record = AvroDeserializer(client, reader_schemas={topic: v2}).deserialize(data, topic=topic)
    assert record == {**old, "home_component_title": ""}
    assert AvroDeserializer(client).deserialize(data, topic=topic) == old


def test_evolution_with_the_catalogue_reader(client: RegistryClient, subject: Callable[[str], str]) -> None:  # noqa: F811
    """A value of an older Grade (no isced_code) on a catalogue topic reads with today's Grade schema."""
    v1 = load_schema("Grade")
    v1["fields"] = [f for f in v1["fields"] if f["name"] != "isced_code"]
    old = {k: v for k, v in EXAMPLES["Grade"].items() if k != "isced_code"}
    data = AvroSerializer(client, subject("old-grades"), schema=v1).serialize(old)
    assert AvroDeserializer(client).deserialize(data, topic="hub.grades") == {**old, "isced_code": None}


def _bad_bytes(client: RegistryClient) -> dict[str, bytes]:
    good = AvroSerializer(client, "hub.grades").serialize(EXAMPLES["Grade"])
    return {
        "empty": b"",
        "short header": b"\x00\x00\x01",
        "wrong magic byte": b"\x01" + good[1:],
        "json instead of avro": b'{"event_id": "x"}',
        "unknown schema id": b"\x00" + struct.pack(">I", 999_999) + good[5:],
        "truncated avro": good[:-7],
        "trailing bytes": good + b"\x00\x00",
        "garbage body": good[:5] + b"\xff" * 40,
    }


@pytest.mark.parametrize(
    "kind",
    ["empty", "short header", "wrong magic byte", "json instead of avro", "unknown schema id", "truncated avro", "trailing bytes", "garbage body"],
)
def test_bad_bytes_raise_decode_error_with_where(client: RegistryClient, kind: str) -> None:
    data = _bad_bytes(client)[kind]
    with pytest.raises(DecodeError) as caught:
        AvroDeserializer(client).deserialize(data, topic="hub.grades", partition=4, offset=1234)
    error = caught.value
    assert (error.topic, error.partition, error.offset, error.data) == ("hub.grades", 4, 1234, data)
    assert error.reason and "hub.grades[4]@1234" in str(error)
    if kind == "unknown schema id":
        assert error.schema_id == 999_999 and "unknown" in error.reason


def test_unreachable_registry_is_not_a_decode_error(client: RegistryClient, tmp_path) -> None:
    data = AvroSerializer(client, "hub.grades").serialize(EXAMPLES["Grade"])
    dead = RegistryClient("http://127.0.0.1:9", timeout=1)
    with pytest.raises(RegistryUnavailable):
        AvroDeserializer(dead).deserialize(data, topic="hub.grades", partition=0, offset=0)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"grade_label": 2}, "grade_label"),
        ({"status": "LOST"}, "LOST"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"ects": Decimal("12345.678")}, ""),
    ],
)
def test_bad_records_raise_encode_error(client: RegistryClient, change: dict[str, Any], why: str) -> None:
    with pytest.raises(EncodeError) as caught:
        AvroSerializer(client, "hub.grades").serialize({**EXAMPLES["Grade"], **change})
    assert caught.value.topic == "hub.grades" and why in caught.value.reason


def test_missing_required_field_is_an_encode_error_but_defaults_fill_in(client: RegistryClient) -> None:
    serializer = AvroSerializer(client, "hub.grades")
    with pytest.raises(EncodeError, match="result_id"):
        serializer.serialize({k: v for k, v in EXAMPLES["Grade"].items() if k != "result_id"})
    without_defaults = {k: v for k, v in EXAMPLES["Grade"].items() if k not in ("trace_id", "los_id")}
    record = AvroDeserializer(client).deserialize(serializer.serialize(without_defaults), "hub.grades")
    assert record["trace_id"] == "" and record["los_id"] is None


@pytest.mark.parametrize("bad_la", ["not a record", {"version": 1}, 42])
def test_bad_value_in_a_record_union_is_an_encode_error(client: RegistryClient, bad_la: Any) -> None:
    with pytest.raises(EncodeError) as caught:
        AvroSerializer(client, "hub.mobilities").serialize({**EXAMPLES["Mobility"], "learning_agreement": bad_la})
    assert caught.value.topic == "hub.mobilities"
