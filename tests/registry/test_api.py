"""The registry's REST API over real HTTP: every endpoint, every error code, Confluent's shapes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from hub.registry import MEDIA_TYPE, RunningRegistry, serve_registry
from schemas.avro_files import schema_text
from schemas.catalogue import TOPICS

V1 = {"type": "record", "name": "R", "namespace": "eu.heroes.test", "fields": [{"name": "a", "type": "string"}]}
V2 = {**V1, "fields": [*V1["fields"], {"name": "b", "type": "int", "default": 0}]}
NO_DEFAULT = {**V1, "fields": [*V1["fields"], {"name": "c", "type": "int"}]}


def body(schema: dict) -> dict:
    return {"schema": json.dumps(schema)}


def error(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    payload = response.json()
    assert set(payload) == {"error_code", "message"} and payload["error_code"] == code, payload
    return payload["message"]


@pytest.fixture
def http(registry: RunningRegistry) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=registry.url, headers={"Content-Type": MEDIA_TYPE}) as client:
        yield client


@pytest.fixture
def own(tmp_path: Path) -> Iterator[tuple[RunningRegistry, httpx.Client]]:
    """A registry of the test's own, for changes to global settings."""
    with serve_registry(tmp_path) as running, httpx.Client(base_url=running.url) as client:
        yield running, client


def test_register_is_idempotent_and_ids_are_global(http: httpx.Client, subject: Callable[[str], str]) -> None:
    first = http.post(f"/subjects/{subject('a')}/versions", json=body(V1))
    assert first.status_code == 200 and first.headers["content-type"].startswith(MEDIA_TYPE)
    schema_id = first.json()["id"]
    assert http.post(f"/subjects/{subject('a')}/versions", json=body(V1)).json() == {"id": schema_id}
    reformatted = {"schema": json.dumps(V1, indent=4)}
    assert http.post(f"/subjects/{subject('b')}/versions", json=reformatted).json() == {"id": schema_id}
    assert http.get(f"/subjects/{subject('a')}/versions").json() == [1]
    assert sorted(http.get(f"/schemas/ids/{schema_id}/subjects").json()) == sorted([subject("a"), subject("b")])
    usages = http.get(f"/schemas/ids/{schema_id}/versions").json()
    assert {"subject": subject("b"), "version": 1} in usages
    assert {subject("a"), subject("b")} <= set(http.get("/subjects").json())


def test_versions_lookup_and_schema_endpoints(http: httpx.Client, subject: Callable[[str], str]) -> None:
    s = subject()
    id1 = http.post(f"/subjects/{s}/versions", json=body(V1)).json()["id"]
    id2 = http.post(f"/subjects/{s}/versions", json=body(V2)).json()["id"]
    assert id1 != id2
    assert http.get(f"/subjects/{s}/versions").json() == [1, 2]
    latest = http.get(f"/subjects/{s}/versions/latest").json()
    assert latest["subject"] == s and latest["version"] == 2 and latest["id"] == id2
    assert json.loads(latest["schema"]) == V2
    assert http.get(f"/subjects/{s}/versions/-1").json()["version"] == 2
    assert json.loads(http.get(f"/subjects/{s}/versions/1/schema").text) == V1
    assert json.loads(http.get(f"/schemas/ids/{id1}").json()["schema"]) == V1
    assert json.loads(http.get(f"/schemas/ids/{id1}/schema").text) == V1
    found = http.post(f"/subjects/{s}", json={"schema": json.dumps(V1, indent=1)}).json()
    assert found == {"subject": s, "id": id1, "version": 1, "schema": json.dumps(V1, separators=(",", ":"))}
    assert http.get("/schemas/types").json() == ["AVRO"]
    assert http.get("/").json() == {}


def test_not_found_errors(http: httpx.Client, subject: Callable[[str], str]) -> None:
    s = subject()
    assert error(http.get(f"/subjects/{s}/versions"), 404, 40401) == f"Subject '{s}' not found."
    assert error(http.post(f"/subjects/{s}", json=body(V1)), 404, 40401)
    http.post(f"/subjects/{s}/versions", json=body(V1))
    assert error(http.get(f"/subjects/{s}/versions/7"), 404, 40402) == "Version 7 not found."
    assert error(http.post(f"/subjects/{s}", json=body(V2)), 404, 40403)
    assert error(http.get("/schemas/ids/999999"), 404, 40403) == "Schema 999999 not found."
    assert error(http.get("/schemas/ids/abc"), 404, 40403)
    assert error(http.get(f"/subjects/{s}/versions/0"), 422, 42202)
    assert error(http.get(f"/subjects/{s}/versions/x1"), 422, 42202)
    assert error(http.get("/no/such/path"), 404, 404)


def test_incompatible_change_rejected_under_backward_accepted_under_none(http: httpx.Client, subject: Callable[[str], str]) -> None:
    s = subject()
    http.post(f"/subjects/{s}/versions", json=body(V1))
    message = error(http.post(f"/subjects/{s}/versions", json=body(NO_DEFAULT)), 409, 409)
    assert "incompatible" in message and "'c'" in message
    verdict = http.post(f"/compatibility/subjects/{s}/versions/latest?verbose=true", json=body(NO_DEFAULT)).json()
    assert verdict["is_compatible"] is False and any("READER_FIELD_MISSING_DEFAULT_VALUE" in m for m in verdict["messages"])
    assert http.post(f"/compatibility/subjects/{s}/versions/1", json=body(V2)).json() == {"is_compatible": True}
    assert http.post(f"/compatibility/subjects/{s}/versions", json=body(NO_DEFAULT)).json() == {"is_compatible": False}
    assert error(http.post(f"/compatibility/subjects/{s}/versions/9", json=body(V2)), 404, 40402)
    assert error(http.post(f"/compatibility/subjects/{subject('none')}/versions/1", json=body(V2)), 404, 40401)

    assert http.put(f"/config/{s}", json={"compatibility": "NONE"}).json() == {"compatibility": "NONE"}
    assert http.get(f"/config/{s}").json() == {"compatibilityLevel": "NONE"}
    assert http.post(f"/subjects/{s}/versions", json=body(NO_DEFAULT)).status_code == 200
    assert http.get(f"/subjects/{s}/versions").json() == [1, 2]


def test_config(own: tuple[RunningRegistry, httpx.Client], subject: Callable[[str], str]) -> None:
    _, http = own
    s = subject()
    assert http.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert http.put("/config", json={"compatibility": "full_transitive"}).json() == {"compatibility": "FULL_TRANSITIVE"}
    assert http.get("/config").json() == {"compatibilityLevel": "FULL_TRANSITIVE"}
    assert error(http.get(f"/config/{s}"), 404, 40408)
    assert http.get(f"/config/{s}?defaultToGlobal=true").json() == {"compatibilityLevel": "FULL_TRANSITIVE"}
    assert http.put(f"/config/{s}", json={"compatibility": "FORWARD"}).json() == {"compatibility": "FORWARD"}
    assert http.delete(f"/config/{s}").json() == {"compatibility": "FORWARD"}
    assert error(http.put("/config", json={"compatibility": "SIDEWAYS"}), 422, 42203)
    assert error(http.put("/config", json={"compatibility": 3}), 422, 42203)
    assert error(http.put("/config", json={}), 422, 42203)


def test_full_transitive_checks_every_version(own: tuple[RunningRegistry, httpx.Client], subject: Callable[[str], str]) -> None:
    _, http = own
    s = subject()
    http.put(f"/config/{s}", json={"compatibility": "BACKWARD_TRANSITIVE"})
    v2_no_default = {**V2, "fields": [V1["fields"][0], {"name": "b", "type": "int"}]}
    assert http.post(f"/subjects/{s}/versions", json=body(V1)).status_code == 200
    assert http.post(f"/subjects/{s}/versions", json=body(V2)).status_code == 200
    message = error(http.post(f"/subjects/{s}/versions", json=body(v2_no_default)), 409, 409)
    assert "version 1" in message


def test_delete_subject(http: httpx.Client, subject: Callable[[str], str]) -> None:
    s = subject()
    schema_id = http.post(f"/subjects/{s}/versions", json=body(V1)).json()["id"]
    http.post(f"/subjects/{s}/versions", json=body(V2))
    assert error(http.delete(f"/subjects/{s}?permanent=true"), 404, 40405)
    assert http.delete(f"/subjects/{s}").json() == [1, 2]
    assert s not in http.get("/subjects").json()
    assert s in http.get("/subjects?deleted=true").json()
    assert error(http.get(f"/subjects/{s}/versions"), 404, 40401)
    assert error(http.delete(f"/subjects/{s}"), 404, 40401)
    assert http.delete(f"/subjects/{s}?permanent=true").json() == [1, 2]
    assert http.post(f"/subjects/{s}/versions", json=body(V1)).json() == {"id": schema_id}
    assert http.get(f"/subjects/{s}/versions").json() == [1]
    assert http.delete(f"/subjects/{s}/versions/1").json() == 1
    assert error(http.get(f"/subjects/{s}/versions/1"), 404, 40401)


def test_invalid_schemas(http: httpx.Client, subject: Callable[[str], str]) -> None:
    s = subject()
    assert "Invalid schema" in error(http.post(f"/subjects/{s}/versions", json={"schema": "{nope"}), 422, 42201)
    bad_type = {"schema": json.dumps({"type": "record", "name": "R", "fields": [{"name": "x", "type": "Nope"}]})}
    assert error(http.post(f"/subjects/{s}/versions", json=bad_type), 422, 42201)
    bad_default = {"schema": json.dumps({"type": "record", "name": "R", "fields": [{"name": "x", "type": "int", "default": "a"}]})}
    assert error(http.post(f"/subjects/{s}/versions", json=bad_default), 422, 42201)
    proto = {"schema": "syntax = 'proto3';", "schemaType": "PROTOBUF"}
    assert "Only AVRO" in error(http.post(f"/subjects/{s}/versions", json=proto), 422, 42201)
    assert http.post(f"/subjects/{s}/versions", json={**body(V1), "schemaType": "AVRO"}).status_code == 200
    assert error(http.post(f"/subjects/{s}/versions", json={"schema": 5}), 422, 42201)
    assert error(http.post(f"/subjects/{s}/versions", json={}), 422, 42201)
    refs = {**body(V1), "references": [{"name": "X", "subject": "x", "version": 1}]}
    assert error(http.post(f"/subjects/{s}/versions", json=refs), 422, 42201)


def test_ids_stable_across_restart(tmp_path: Path) -> None:
    with serve_registry(tmp_path) as first, httpx.Client(base_url=first.url) as http:
        ids = {t.subject: http.post(f"/subjects/{t.subject}/versions", json={"schema": schema_text(t.value_schema)}).json()["id"] for t in TOPICS}
        http.put("/config/hub.grades-value", json={"compatibility": "FULL"})
    assert not first.running
    with serve_registry(tmp_path) as second, httpx.Client(base_url=second.url) as http:
        assert sorted(http.get("/subjects").json()) == sorted(ids)
        for subject_name, schema_id in ids.items():
            assert http.get(f"/subjects/{subject_name}/versions/latest").json()["id"] == schema_id
        assert http.get("/config/hub.grades-value").json() == {"compatibilityLevel": "FULL"}
        fresh = http.post("/subjects/new-value/versions", json=body(V1)).json()["id"]
        assert fresh > max(ids.values())
    assert len(set(ids.values())) == len({t.value_schema for t in TOPICS})


def test_default_port_falls_back_when_taken(tmp_path: Path) -> None:
    from hub.registry import bind

    # the first bind takes 8081 when free, so the registry must fall back
    with bind("127.0.0.1", None) as first, serve_registry(tmp_path, port=None) as running:
        assert running.port not in (0, first.getsockname()[1])
        assert httpx.get(f"{running.url}/subjects").json() == []


def test_store_failure_is_50001_and_the_registry_keeps_serving(tmp_path: Path) -> None:
    import sqlite3

    with serve_registry(tmp_path) as running, httpx.Client(base_url=running.url) as http:
        assert http.post("/subjects/a-value/versions", json=body(V1)).status_code == 200
        with sqlite3.connect(running.database) as db:  # the store breaks under the registry's feet
            db.execute("ALTER TABLE subject_versions RENAME TO moved_away")
        message = error(http.get("/subjects"), 500, 50001)
        assert "backend data store" in message
        with sqlite3.connect(running.database) as db:
            db.execute("ALTER TABLE moved_away RENAME TO subject_versions")
        assert http.get("/subjects").json() == ["a-value"]
