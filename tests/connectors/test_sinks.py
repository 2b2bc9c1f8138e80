"""Write-back sinks against the real broker: decisions for one home institution into a CSV export and an SQL table."""

from __future__ import annotations

import csv
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from connectors.sdk import MemoryPublisher
from connectors.sinks import FileExportSink, SinkRunner, SqlInsertSink
from schemas.avro_files import load_schema
from schemas.models import Provenance, RecognitionDecision, to_avro

pytestmark = pytest.mark.kafka


def _decision(home: str, status: str, component: str) -> RecognitionDecision:
    return RecognitionDecision(
        source_hei=home, occurred_at=datetime(2026, 2, 1, tzinfo=timezone.utc), decision_id=str(uuid.uuid4()),
        omobility_id="m-1", student_esi=f"urn:schac:personalUniqueCode:int:esi:{home}:42", home_hei=home,
        host_hei="hh.se", home_component=component, version=1, status=status, ects=Decimal("7.50"),
        converted_grade="8", home_scheme_id=f"{home}:1-10", rule="all passed", reason="host grades B, A",
        provenance=Provenance(la_version=1, group_id="g1"))


def _consumer(broker, topic: str, group: str):
    from kafka import KafkaConsumer

    return KafkaConsumer(topic, bootstrap_servers=broker.bootstrap_servers.split(","), group_id=group,
                         enable_auto_commit=False, auto_offset_reset="earliest")


def test_decisions_reach_the_export_and_the_table_once(broker, registry, tmp_path):
    from kafka import KafkaProducer

    from schemas.registry_client import RegistryClient
    from schemas.serde import AvroDeserializer, AvroSerializer

    from hub.broker import BrokerError, create_topics

    topic = f"recognitions-{uuid.uuid4().hex[:10]}"
    try:
        create_topics(broker.bootstrap_servers, {topic: False}, 1, engine=broker.engine)
    except BrokerError:  # a loaded broker may answer "not ready" in time; the producer below waits for it
        pass
    client = RegistryClient(registry.url)
    ser = AvroSerializer(client, topic, schema=load_schema("RecognitionDecision"))
    decisions = [_decision("fontys.nl", "AUTO_RECOGNISED", "B1"), _decision("fontys.nl", "NEEDS_REVIEW", "B2"),
                 _decision("ucn.dk", "AUTO_RECOGNISED", "X1"), _decision("fontys.nl", "REVOKED", "B3")]
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers.split(","), acks="all")
    for d in decisions[:2]:
        producer.send(topic, key=d.omobility_id.encode(), value=ser.serialize(to_avro(d)))
    producer.send(topic, key=b"m-1", value=b"\x00\x00\x00\x00\x63garbage")
    for d in decisions[2:]:
        producer.send(topic, key=d.omobility_id.encode(), value=ser.serialize(to_avro(d)))
    producer.flush()
    producer.close()

    export = FileExportSink(tmp_path / "import")
    table_url = f"sqlite:///{tmp_path / 'sis.sqlite'}"
    decode = AvroDeserializer(client).deserialize
    dlq = MemoryPublisher()
    group = f"sink-{uuid.uuid4().hex[:6]}"
    for sink in (export, SqlInsertSink(table_url)):
        consumer = _consumer(broker, topic, f"{group}-{sink.kind}")
        totals = SinkRunner("fontys.nl", sink, consumer, decode, dead_letters=dlq).run(once=True)
        consumer.close()
        assert (totals.written, totals.ignored, totals.rejected) == (2, 2, 1)
        sink.close()

    files = list((tmp_path / "import").glob("recognitions-*.csv"))
    rows = [r for f in files for r in csv.DictReader(f.read_text().splitlines(), delimiter=";")]
    assert sorted((r["home_component"], r["status"], r["ects"]) for r in rows) == [
        ("B1", "AUTO_RECOGNISED", "7,50"), ("B3", "REVOKED", "7,50")]
    engine = sa.create_engine(table_url)
    with engine.connect() as con:
        assert sorted(con.execute(sa.text("SELECT home_component, status FROM hub_recognitions"))) == [
            ("B1", "AUTO_RECOGNISED"), ("B3", "REVOKED")]
    # the undecodable record became a dead letter in each sink's run, with the same event id both times
    assert [t for t, _, _ in dlq.acked] == ["hub.dlq", "hub.dlq"] and dlq.acked[0][2][:37] == dlq.acked[1][2][:37]  # event_id leads the record

    # offsets were committed after the writes: the same group reads nothing more
    consumer = _consumer(broker, topic, f"{group}-{export.kind}")
    again = SinkRunner("fontys.nl", export, consumer, decode).run(once=True)
    consumer.close()
    assert again.written == 0 and again.batches == []
    # a re-delivered batch (crash after the write, before the commit) replaces its own file and rows
    export.write(decisions[:1], totals.batches[0])
    SqlInsertSink(table_url).write(decisions[:1], "again")
    assert len(list((tmp_path / "import").glob("recognitions-*.csv"))) == len(files)
    with engine.connect() as con:
        assert con.execute(sa.text("SELECT COUNT(*) FROM hub_recognitions")).scalar_one() == 2
