"""The Confluent Schema Registry REST API (the subset Kafka serializers and tools use), over FastAPI.

Every answer is ``application/vnd.schemaregistry.v1+json``; every refusal is
``{"error_code": ..., "message": ...}`` with Confluent's codes (see
:mod:`hub.registry.errors`). Request bodies are read with a size cap and parsed
by hand, so hostile input gets a 4xx that says what was wrong, never a 500.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.logs import get_logger
from hub.registry import errors
from hub.registry.store import RegistryStore, check_level

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
ACCEPTED_BODY_TYPES = {
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
    "*/*",
}
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_VERSION = 2**31 - 1

log = get_logger(component="registry")


class RegistryResponse(JSONResponse):
    media_type = MEDIA_TYPE


def create_app(db_url_or_path: str | Path, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The registry app over an SQLAlchemy URL or an SQLite file path."""
    store = RegistryStore(db_url_or_path)
    app = FastAPI(
        title="HEROES Hub schema registry",
        description="Confluent Schema Registry compatible REST API (Avro only).",
        default_response_class=RegistryResponse,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.router.add_event_handler("shutdown", store.close)
    _install_error_handlers(app)

    async def body_of(request: Request) -> dict[str, Any]:
        return await _read_json_object(request, max_body_bytes)

    @app.get("/")
    async def root() -> dict[str, Any]:
        return {}

    @app.get("/schemas/types")
    async def schema_types() -> list[str]:
        return ["AVRO"]

    @app.get("/mode")
    async def mode() -> dict[str, str]:
        return {"mode": "READWRITE"}

    @app.get("/subjects")
    async def subjects(deleted: bool = False) -> list[str]:
        return store.subjects(deleted)

    @app.get("/subjects/{subject}/versions")
    async def versions(subject: str, deleted: bool = False) -> list[int]:
        return store.versions(_subject(subject), deleted)

    @app.post("/subjects/{subject}/versions")
    async def register(subject: str, request: Request) -> dict[str, int]:
        text = _schema_text(await body_of(request))
        schema_id, created = store.register(_subject(subject), text)
        if created:
            log.info("schema_registered", subject=subject, schema_id=schema_id)
        return {"id": schema_id}

    @app.post("/subjects/{subject}")
    async def lookup(subject: str, request: Request, deleted: bool = False) -> dict[str, Any]:
        text = _schema_text(await body_of(request))
        return store.lookup(_subject(subject), text, deleted).body()

    @app.delete("/subjects/{subject}")
    async def delete_subject(subject: str, permanent: bool = False) -> list[int]:
        gone = store.delete_subject(_subject(subject), permanent)
        log.info("subject_deleted", subject=subject, versions=gone, permanent=permanent)
        return gone

    @app.get("/subjects/{subject}/versions/{version}")
    async def get_version(subject: str, version: str, deleted: bool = False) -> dict[str, Any]:
        return store.version(_subject(subject), _version(version), deleted).body()

    @app.get("/subjects/{subject}/versions/{version}/schema")
    async def get_version_schema(subject: str, version: str, deleted: bool = False) -> Response:
        found = store.version(_subject(subject), _version(version), deleted)
        return Response(found.schema, media_type=MEDIA_TYPE)

    @app.delete("/subjects/{subject}/versions/{version}")
    async def delete_version(subject: str, version: str, permanent: bool = False) -> int:
        return store.delete_version(_subject(subject), _version(version), permanent)

    @app.get("/schemas/ids/{schema_id}")
    async def schema_by_id(schema_id: str) -> dict[str, Any]:
        return {"schema": store.schema(_schema_id(schema_id))}

    @app.get("/schemas/ids/{schema_id}/schema")
    async def raw_schema_by_id(schema_id: str) -> Response:
        return Response(store.schema(_schema_id(schema_id)), media_type=MEDIA_TYPE)

    @app.get("/schemas/ids/{schema_id}/subjects")
    async def subjects_of_id(schema_id: str) -> list[str]:
        return sorted({s for s, _ in store.usages(_schema_id(schema_id))})

    @app.get("/schemas/ids/{schema_id}/versions")
    async def versions_of_id(schema_id: str) -> list[dict[str, Any]]:
        return [{"subject": s, "version": v} for s, v in store.usages(_schema_id(schema_id))]

    @app.get("/config")
    async def get_config() -> dict[str, str]:
        return {"compatibilityLevel": store.level()}

    @app.put("/config")
    async def put_config(request: Request) -> dict[str, str]:
        level = store.set_level(_level_of(await body_of(request)))
        log.info("compatibility_set", subject=None, compatibility=level)
        return {"compatibility": level}

    @app.get("/config/{subject}")
    async def get_subject_config(subject: str, defaultToGlobal: bool = False) -> dict[str, str]:
        return {"compatibilityLevel": store.level(_subject(subject), fallback=defaultToGlobal)}

    @app.put("/config/{subject}")
    async def put_subject_config(subject: str, request: Request) -> dict[str, str]:
        level = store.set_level(_level_of(await body_of(request)), _subject(subject))
        log.info("compatibility_set", subject=subject, compatibility=level)
        return {"compatibility": level}

    @app.delete("/config/{subject}")
    async def delete_subject_config(subject: str) -> dict[str, str]:
        return {"compatibility": store.delete_level(_subject(subject))}

    @app.post("/compatibility/subjects/{subject}/versions/{version}")
    async def compatibility_with_version(subject: str, version: str, request: Request, verbose: bool = False) -> dict[str, Any]:
        text = _schema_text(await body_of(request))
        messages = store.check(_subject(subject), text, _version(version))
        return _verdict(messages, verbose)

    @app.post("/compatibility/subjects/{subject}/versions")
    async def compatibility_with_subject(subject: str, request: Request, verbose: bool = False) -> dict[str, Any]:
        text = _schema_text(await body_of(request))
        return _verdict(store.check(_subject(subject), text, "all"), verbose)

    return app


def _verdict(messages: list[str], verbose: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {"is_compatible": not messages}
    if verbose:
        answer["messages"] = messages
    return answer


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.RegistryFault)
    async def fault(request: Request, exc: errors.RegistryFault) -> Response:
        if exc.http_status >= 500:
            log.error("registry_store_error", path=request.url.path, error=exc.message)
        return RegistryResponse(exc.body(), status_code=exc.http_status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return RegistryResponse({"error_code": exc.status_code, "message": f"HTTP {exc.status_code} {message}"}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return RegistryResponse({"error_code": 422, "message": f"Invalid request: {problems}"}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("registry_internal_error", path=request.url.path, error=repr(exc))
        return RegistryResponse({"error_code": 50001, "message": f"Internal error: {type(exc).__name__}"}, status_code=500)


async def _read_json_object(request: Request, limit: int) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in ACCEPTED_BODY_TYPES:
        raise errors.RegistryFault(
            f"Unsupported content type {content_type!r}; send {MEDIA_TYPE} or application/json", 415, 415
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise errors.RegistryFault(f"Request body of {declared} bytes is larger than the limit of {limit} bytes", 413, 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.RegistryFault(f"Request body is larger than the limit of {limit} bytes", 413, 413)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise errors.BadRequestBody(f"Request body is not UTF-8: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise errors.BadRequestBody(f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise errors.BadRequestBody(f"Request body must be a JSON object, not {type(value).__name__}")
    return value


def _schema_text(body: dict[str, Any]) -> str:
    schema_type = body.get("schemaType", "AVRO")
    if not isinstance(schema_type, str) or schema_type.upper() != "AVRO":
        raise errors.InvalidSchema(f"Only AVRO schemas are supported; schemaType {schema_type!r} is not")
    if body.get("references"):
        raise errors.InvalidSchema("Schema references are not supported; inline the referenced named types")
    text = body.get("schema")
    if not isinstance(text, str) or not text.strip():
        raise errors.InvalidSchema('Invalid schema: the request body needs a "schema" field holding the schema as a JSON string')
    return text


def _subject(subject: str) -> str:
    if len(subject) > 255 or not subject.isprintable():
        raise errors.InvalidSubject(f"Invalid subject {subject[:80]!r}: use at most 255 printable characters")
    return subject


def _version(version: str) -> int | None:
    if version in ("latest", "-1"):
        return None
    if version.isascii() and version.isdigit() and 1 <= int(version) <= MAX_VERSION:
        return int(version)
    raise errors.InvalidVersion(version[:80])


def _schema_id(schema_id: str) -> int:
    if schema_id.isascii() and schema_id.isdigit() and len(schema_id) < 12:
        return int(schema_id)
    raise errors.SchemaNotFound(f"Schema {schema_id[:80]} not found.")


def _level_of(body: dict[str, Any]) -> str:
    return check_level(body.get("compatibility", body.get("compatibilityLevel")))
