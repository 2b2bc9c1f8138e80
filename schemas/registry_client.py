"""A client of the Confluent Schema Registry REST API: the hub's own registry, Confluent's or Karapace.

Ids and schemas are cached, so each schema costs one HTTP call per process.
Errors are translated at the boundary:

    RegistryError (error_code, message)
    ├── RegistryUnavailable   not reachable, timed out or answered 5xx: back off and retry
    ├── SubjectNotFound       40401
    ├── VersionNotFound       40402
    ├── SchemaNotFound        40403 (unknown id, or schema not under the subject)
    ├── IncompatibleSchema    409: the change breaks the subject's compatibility level
    └── SchemaRejected        42201/42202/42203 and other 4xx: the request is wrong, fix it

    >>> client = RegistryClient("http://127.0.0.1:8081")           # doctest: +SKIP
    >>> schema_id = client.register("hub.grades-value", load_schema("Grade"))   # doctest: +SKIP
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

import httpx

from schemas.catalogue import TOPICS

__all__ = [
    "DEFAULT_REGISTRY_URL",
    "IncompatibleSchema",
    "RegisteredSchema",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "SchemaNotFound",
    "SchemaRejected",
    "SubjectNotFound",
    "VersionNotFound",
    "register_all",
]

DEFAULT_REGISTRY_URL = "http://127.0.0.1:8081"
_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_ACCEPT = "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json"


class RegistryError(Exception):
    """The registry refused or could not answer; ``error_code`` is Confluent's (0 when there was no answer)."""

    def __init__(self, error_code: int, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


class RegistryUnavailable(RegistryError):
    """No usable answer (connection refused, timeout, 5xx): retry later; nothing is wrong with the data."""


class SubjectNotFound(RegistryError):
    """The subject has no (live) versions."""


class VersionNotFound(RegistryError):
    """The subject has no such version."""


class SchemaNotFound(RegistryError):
    """No schema with that id, or the schema is not registered under the subject."""


class IncompatibleSchema(RegistryError):
    """The registry refused the schema under the subject's compatibility level."""


class SchemaRejected(RegistryError):
    """The registry refused the request itself (invalid schema, version or level)."""


_BY_CODE: dict[int, type[RegistryError]] = {
    40401: SubjectNotFound,
    40402: VersionNotFound,
    40403: SchemaNotFound,
    409: IncompatibleSchema,
}


@dataclass(frozen=True)
class RegisteredSchema:
    """A schema as registered under a subject."""

    subject: str
    version: int
    id: int
    schema: dict[str, Any]


def _text(schema: dict[str, Any] | str) -> str:
    return schema if isinstance(schema, str) else json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


def _key(schema: dict[str, Any] | str) -> str:
    value = json.loads(schema) if isinstance(schema, str) else schema
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class RegistryClient:
    """Synchronous registry client over httpx; safe to share between threads.

    ``url`` may carry ``user:password@`` for registries behind basic auth.
    ``transport`` is a seam for tests (e.g. ``httpx.MockTransport``).
    """

    def __init__(self, url: str = DEFAULT_REGISTRY_URL, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.display_url = str(httpx.URL(self.url).copy_with(username=None, password=None))  # for messages and logs
        self._http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            transport=transport,
            headers={"Accept": _ACCEPT, "Content-Type": _CONTENT_TYPE},
        )
        self._lock = threading.Lock()
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, dict[str, Any]] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schemas -------------------------------------------------------------------------

    def register(self, subject: str, schema: dict[str, Any] | str) -> int:
        """Register the schema under ``subject`` (idempotent) and return its global id."""
        key = (subject, _key(schema))
        cached = self._ids.get(key)
        if cached is not None:
            return cached
        answer = self._call("POST", f"/subjects/{_q(subject)}/versions", {"schema": _text(schema)})
        return self._remember(key, int(answer["id"]), schema)

    def lookup(self, subject: str, schema: dict[str, Any] | str) -> RegisteredSchema:
        """The version of ``subject`` that holds this schema (SubjectNotFound / SchemaNotFound otherwise)."""
        answer = self._call("POST", f"/subjects/{_q(subject)}", {"schema": _text(schema)})
        found = self._registered(answer)
        self._remember((subject, _key(schema)), found.id, found.schema)
        return found

    def schema_id(self, subject: str, schema: dict[str, Any] | str) -> int:
        """The id of a schema already registered under ``subject``, looked up once (never registers)."""
        cached = self._ids.get((subject, _key(schema)))
        return cached if cached is not None else self.lookup(subject, schema).id

    def get_schema(self, schema_id: int) -> dict[str, Any]:
        """The schema with this global id (cached; treat the result as read-only)."""
        cached = self._schemas.get(schema_id)
        if cached is not None:
            return cached
        answer = self._call("GET", f"/schemas/ids/{int(schema_id)}")
        schema = json.loads(answer["schema"])
        with self._lock:
            self._schemas[schema_id] = schema
        return schema

    def latest(self, subject: str) -> RegisteredSchema:
        """The newest version of ``subject`` (always asked, never cached: it changes)."""
        return self.version(subject, "latest")

    def version(self, subject: str, version: int | str) -> RegisteredSchema:
        found = self._registered(self._call("GET", f"/subjects/{_q(subject)}/versions/{version}"))
        with self._lock:
            self._schemas.setdefault(found.id, found.schema)
        return found

    def subjects(self) -> list[str]:
        return list(self._call("GET", "/subjects"))

    def versions(self, subject: str) -> list[int]:
        return list(self._call("GET", f"/subjects/{_q(subject)}/versions"))

    def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        params = "?permanent=true" if permanent else ""
        gone = list(self._call("DELETE", f"/subjects/{_q(subject)}{params}"))
        with self._lock:
            self._ids = {k: v for k, v in self._ids.items() if k[0] != subject}
        return gone

    # --- compatibility -------------------------------------------------------------------

    def get_config(self, subject: str | None = None) -> str:
        """The compatibility level that applies to ``subject`` (or the global one)."""
        path = "/config" if subject is None else f"/config/{_q(subject)}?defaultToGlobal=true"
        answer = self._call("GET", path)
        return str(answer.get("compatibilityLevel") or answer.get("compatibility"))

    def set_config(self, level: str, subject: str | None = None) -> str:
        path = "/config" if subject is None else f"/config/{_q(subject)}"
        return str(self._call("PUT", path, {"compatibility": level.upper()})["compatibility"])

    def check_compatibility(self, subject: str, schema: dict[str, Any] | str, version: int | str = "latest") -> list[str]:
        """Why the schema may not follow ``version`` of ``subject``; empty = compatible."""
        path = f"/compatibility/subjects/{_q(subject)}/versions/{version}?verbose=true"
        answer = self._call("POST", path, {"schema": _text(schema)})
        if answer.get("is_compatible"):
            return []
        return [str(m) for m in answer.get("messages") or ["incompatible (the registry gave no reason)"]]

    # --- plumbing ------------------------------------------------------------------------

    def _remember(self, key: tuple[str, str], schema_id: int, schema: dict[str, Any] | str) -> int:
        with self._lock:
            self._ids[key] = schema_id
            self._schemas.setdefault(schema_id, json.loads(_text(schema)))
        return schema_id

    def _registered(self, answer: dict[str, Any]) -> RegisteredSchema:
        return RegisteredSchema(answer["subject"], int(answer["version"]), int(answer["id"]), json.loads(answer["schema"]))

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(method, path, content=None if body is None else json.dumps(body))
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(0, self._unreachable(f"{type(exc).__name__}: {exc}")) from exc
        if response.is_success:
            try:
                return response.json()
            except ValueError as exc:
                raise RegistryUnavailable(0, self._unreachable(f"answered {method} {path} with non-JSON")) from exc
        try:
            error = response.json()
            code, message = int(error.get("error_code", response.status_code)), str(error.get("message", response.text))
        except (ValueError, AttributeError, TypeError):
            code, message = response.status_code, response.text[:500]
        if response.status_code >= 500:
            raise RegistryUnavailable(code, self._unreachable(f"answered {response.status_code}: {message}"))
        raise _BY_CODE.get(code, SchemaRejected)(code, f"{message} ({method} {self.display_url}{path})")

    def _unreachable(self, what: str) -> str:
        return (
            f"schema registry at {self.display_url} is unavailable ({what}); start it with `hub registry` "
            "(or `hub up`), or point HUB_SCHEMA_REGISTRY_URL at a running one"
        )


def _q(subject: str) -> str:
    return quote(subject, safe="")


def register_all(client: RegistryClient) -> dict[str, int]:
    """Register every catalogue topic's value schema under ``<topic>-value``; subject -> id."""
    from schemas.avro_files import load_schema

    return {t.subject: client.register(t.subject, load_schema(t.value_schema)) for t in TOPICS}
