"""Hostile and malformed requests get a 4xx with a Confluent error body, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from hub.registry import RunningRegistry

V1 = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]})


@pytest.fixture
def http(registry: RunningRegistry) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        yield client


def _refused(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    payload = response.json()
    assert isinstance(payload["error_code"], int) and payload["message"]
    return payload


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"{bad json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"schema"', "must be a JSON object"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[" * 100_000, "not valid JSON"),
        (b'{"schema": ' + b"[" * 100_000 + b"}", "not valid JSON"),
    ],
)
def test_malformed_bodies(http: httpx.Client, subject: Callable[[str], str], raw: bytes, why: str) -> None:
    response = http.post(f"/subjects/{subject()}/versions", content=raw, headers={"Content-Type": "application/json"})
    assert why in _refused(response, 422)["message"]


def test_deeply_nested_schema_string(http: httpx.Client, subject: Callable[[str], str]) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    _refused(http.post(f"/subjects/{subject()}/versions", json={"schema": deep}), 422)


def test_huge_body_is_413_declared_or_streamed(http: httpx.Client, subject: Callable[[str], str]) -> None:
    big = b'{"schema": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    _refused(http.post(f"/subjects/{subject()}/versions", content=big), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        for _ in range(80):
            yield b"x" * 65536

    _refused(http.post(f"/subjects/{subject()}/versions", content=chunks()), 413)


def test_wrong_content_type_is_415(http: httpx.Client, subject: Callable[[str], str]) -> None:
    response = http.post(f"/subjects/{subject()}/versions", content=json.dumps({"schema": V1}), headers={"Content-Type": "text/xml"})
    assert _refused(response, 415)["error_code"] == 415


@pytest.mark.parametrize("content_type", ["application/json", "application/vnd.schemaregistry.v1+json", "application/vnd.schemaregistry+json", None])
def test_confluent_content_types_accepted(http: httpx.Client, subject: Callable[[str], str], content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = http.post(f"/subjects/{subject()}/versions", content=json.dumps({"schema": V1}), headers=headers)
    assert response.status_code == 200 and isinstance(response.json()["id"], int)


@pytest.mark.parametrize(
    "path",
    ["/subjects/%00abc/versions", "/subjects/" + "s" * 300 + "/versions", "/subjects/x/versions/99999999999999999999", "/schemas/ids/1e9"],
)
def test_odd_paths(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert 400 <= response.status_code < 500
    assert response.json()["error_code"] in (40401, 40402, 40403, 42202, 42208)


def test_wrong_methods_and_query_values(http: httpx.Client) -> None:
    assert http.delete("/config").status_code == 405
    assert _refused(http.get("/subjects?deleted=maybe"), 422)["error_code"] == 422


def test_still_serving_after_abuse(http: httpx.Client, subject: Callable[[str], str]) -> None:
    for raw in (b"{", b"\x00" * 1000, b'{"schema": null}', b'{"schema": "{\\"type\\": 1}"}'):
        assert 400 <= http.post(f"/subjects/{subject()}/versions", content=raw).status_code < 500
    assert http.post(f"/subjects/{subject()}/versions", json={"schema": V1}).status_code == 200
