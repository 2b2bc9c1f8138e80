"""The example connector against the real broker and registry: events and dead letters on their topics."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from connectors.partners.example_csv import ExampleCsv
from connectors.sdk import ConnectorRunner, CursorStore, KafkaPublisher, RegistrySerializer
from tests.connectors.conftest import read_topic

pytestmark = pytest.mark.kafka


def _csv(folder: Path, name: str, tag: str, rows: list[str]) -> None:
    head = "Matrikelnummer;Pruefungsnummer;Note;ECTS;Pruefungsdatum;Versuch;Status"
    body = "\r\n".join([head] + [r.replace("{t}", tag) for r in rows]) + "\r\n"
    (folder / name).write_bytes(body.encode("cp1252"))


def test_grades_and_dead_letters_reach_kafka(broker, registry, tmp_path):
    tag = uuid.uuid4().hex[:8]
    inbox = tmp_path / "in"
    inbox.mkdir()
    _csv(inbox, "a.csv", tag, ["{t}-1;IF-1;1,3;5,0;14.07.2025;1;endgültig",
                               "{t}-2;IF-1;1,7;5,0;14.07.2025;1;vielleicht",
                               "{t}-3;IF-1;2,0;5,0;14.07.2025;1;endgültig"])
    (inbox / "b.csv").write_bytes(b"Matrikelnummer;Note\r\n\x81\x8d\x8f\x90\x9d")  # undefined in cp1252
    _csv(inbox, "c.csv", tag, ["{t}-4;IF-2;4,0;2,5;15.07.2025;1;korrigiert"])
    conn = ExampleCsv(folder=inbox)
    publisher = KafkaPublisher(broker.bootstrap_servers)
    serializer = RegistrySerializer(registry.url)
    try:
        totals = ConnectorRunner(conn, publisher, CursorStore(tmp_path / "c.sqlite"), serializer=serializer).run(once=True)
    finally:
        publisher.close()
    assert totals.published["sis.th-deg.de.grades"] == 3
    assert totals.rejected == {"unknown_status": 1, "encoding": 1}
    grades = [r for k, r in read_topic(broker.bootstrap_servers, "sis.th-deg.de.grades", registry.url)
              if k.decode().startswith(tag)]
    assert sorted((r["student_id"], r["grade_label"]) for r in grades) == [
        (f"{tag}-1", "1,3"), (f"{tag}-3", "2,0"), (f"{tag}-4", "4,0")]
    letters = [r for k, r in read_topic(broker.bootstrap_servers, "hub.dlq", registry.url)
               if k == b"example_csv.grades" and (tag.encode() in r["payload"] or r["source_location"] == "b.csv")]
    kinds = {r["error_kind"]: r for r in letters}
    assert kinds["unknown_status"]["payload"].decode("cp1252").startswith(f"{tag}-2;IF-1;1,7")
    assert "vielleicht" in kinds["unknown_status"]["reason"]
    assert kinds["encoding"]["reason"].startswith("b.csv: not cp1252 text")
    assert all(r["component"] == "connector:th-deg.de" for r in letters)
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["a.csv", "c.csv"]
    assert (inbox / "rejected" / "b.csv.reason.txt").read_text().startswith("not cp1252 text")
