"""The registry client against the real registry over HTTP: calls, caching, error translation."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from hub.registry import RunningRegistry, serve_registry
from schemas.avro_files import load_schema
from schemas.catalogue import TOPICS
from schemas.registry_client import (
    IncompatibleSchema,
    RegistryClient,
    RegistryUnavailable,
    SchemaNotFound,
    SchemaRejected,
    SubjectNotFound,
    VersionNotFound,
    register_all,
)

V1 = {"type": "record", "name": "R", "namespace": "eu.heroes.test", "fields": [{"name": "a", "type": "string"}]}
V2 = {**V1, "fields": [*V1["fields"], {"name": "b", "type": "int", "default": 0}]}
NO_DEFAULT = {**V1, "fields": [*V1["fields"], {"name": "c", "type": "int"}]}


def counting_client(url: str) -> tuple[RegistryClient, list[str]]:
    """A client whose HTTP requests are recorded (a real transport, only observed)."""
    seen: list[str] = []
    client = RegistryClient(url)
    client._http.event_hooks["request"].append(lambda request: seen.append(f"{request.method} {request.url.path}"))
    return client, seen


def test_register_lookup_latest_and_cache(registry: RunningRegistry, subject: Callable[[str], str]) -> None:
    client, seen = counting_client(registry.url)
    s = subject()
    schema_id = client.register(s, V1)
    assert client.register(s, json.dumps(V1, indent=2)) == schema_id
    assert client.get_schema(schema_id) == V1
    assert seen == [f"POST /subjects/{s}/versions"], "a schema costs one HTTP call per process"

    other, seen_other = counting_client(registry.url)
    assert other.get_schema(schema_id) == V1 and other.get_schema(schema_id) == V1
    assert seen_other == [f"GET /schemas/ids/{schema_id}"]
    found = other.lookup(s, V1)
    assert (found.subject, found.version, found.id, found.schema) == (s, 1, schema_id, V1)
    assert other.schema_id(s, V1) == schema_id and len(seen_other) == 2

    v2_id = client.register(s, V2)
    latest = client.latest(s)
    assert (latest.version, latest.id, latest.schema) == (2, v2_id, V2)
    assert client.versions(s) == [1, 2] and s in client.subjects()
    assert client.version(s, 1).schema == V1


def test_compatibility_and_config(registry: RunningRegistry, subject: Callable[[str], str]) -> None:
    client = RegistryClient(registry.url)
    s = subject()
    client.register(s, V1)
    assert client.check_compatibility(s, V2) == []
    messages = client.check_compatibility(s, NO_DEFAULT)
    assert messages and "'c'" in messages[0]
    with pytest.raises(IncompatibleSchema) as caught:
        client.register(s, NO_DEFAULT)
    assert caught.value.error_code == 409
    assert client.get_config(s) == "BACKWARD" and client.get_config() == "BACKWARD"
    assert client.set_config("none", s) == "NONE" and client.get_config(s) == "NONE"
    assert client.register(s, NO_DEFAULT) > 0


def test_errors_are_translated(registry: RunningRegistry, subject: Callable[[str], str]) -> None:
    client = RegistryClient(registry.url)
    s = subject()
    with pytest.raises(SubjectNotFound) as caught:
        client.latest(s)
    assert caught.value.error_code == 40401 and s in caught.value.message
    client.register(s, V1)
    with pytest.raises(VersionNotFound):
        client.version(s, 5)
    with pytest.raises(SchemaNotFound):
        client.lookup(s, V2)
    with pytest.raises(SchemaNotFound):
        client.get_schema(987654)
    with pytest.raises(SchemaRejected) as rejected:
        client.register(s, {"type": "record", "name": "R", "fields": [{"name": "x", "type": "Nope"}]})
    assert rejected.value.error_code == 42201
    with pytest.raises(SchemaRejected) as level:
        client.set_config("SIDEWAYS", s)
    assert level.value.error_code == 42203


def test_unreachable_registry_says_how_to_fix(tmp_path) -> None:
    with serve_registry(tmp_path) as running:
        url = running.url
    client = RegistryClient(url, timeout=2)
    with pytest.raises(RegistryUnavailable) as caught:
        client.register("x-value", V1)
    assert url in str(caught.value) and "HUB_SCHEMA_REGISTRY_URL" in str(caught.value) and "hub registry" in str(caught.value)


def test_server_errors_are_unavailable_not_data_errors() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error_code": 50001, "message": "Error in the backend data store"})

    client = RegistryClient("http://registry.invalid", transport=httpx.MockTransport(broken))
    with pytest.raises(RegistryUnavailable) as caught:
        client.subjects()
    assert caught.value.error_code == 50001 and "backend data store" in str(caught.value)


def test_register_all_catalogue_subjects(tmp_path) -> None:
    with serve_registry(tmp_path) as running, RegistryClient(running.url) as client:
        ids = register_all(client)
        assert set(ids) == {t.subject for t in TOPICS}
        assert sorted(client.subjects()) == sorted(ids)
        for t in TOPICS:
            assert client.get_schema(ids[t.subject]) == load_schema(t.value_schema)
        records = {t.value_schema for t in TOPICS}
        assert len(set(ids.values())) == len(records), "one global id per record schema"
        assert register_all(RegistryClient(running.url)) == ids
