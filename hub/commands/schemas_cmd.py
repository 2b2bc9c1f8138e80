"""``hub schemas``: list the Avro schemas, register them, check them against a registry, time the serde."""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from typing import Any

import click

from hub.settings import load_settings

REGISTRY_HELP = "Schema registry URL (default HUB_SCHEMA_REGISTRY_URL, else http://127.0.0.1:8081)."


def _registry_url(url: str | None) -> str:
    from schemas.registry_client import DEFAULT_REGISTRY_URL

    return url or load_settings().schema_registry_url or DEFAULT_REGISTRY_URL


def _topics_by_record() -> dict[str, list[str]]:
    from schemas.catalogue import TOPICS

    grouped: dict[str, list[str]] = defaultdict(list)
    for t in TOPICS:
        grouped[t.value_schema].append(t.name)
    return grouped


def _short(topics: list[str]) -> str:
    """sis.<hei>.grades (9 partners) instead of nine names."""
    patterns: dict[str, int] = defaultdict(int)
    for name in topics:
        parts = name.split(".")
        if parts[0] in ("sis", "registrar") and len(parts) > 3:
            patterns[f"{parts[0]}.<hei>.{parts[-1]}"] += 1
        else:
            patterns[name] += 1
    return ", ".join(p if n == 1 else f"{p} ({n} partners)" for p, n in patterns.items())


@click.group()
def schemas() -> None:
    """List, check and register the Avro schemas of the hub topics.

    The .avsc files in schemas/avro/ are the contract between connectors and
    stream processors; each topic's values use the subject <topic>-value.
    """


@schemas.command("list", short_help="Records, their docs and the topics that use them.")
@click.option("--all-topics", is_flag=True, help="Name every topic instead of one pattern per partner topic family.")
def list_schemas(all_topics: bool) -> None:
    """Each Avro record, what it is, and the topics whose values use it."""
    from schemas.avro_files import load_schema, record_names

    grouped = _topics_by_record()
    for name in record_names():
        schema = load_schema(name)
        topics = grouped.get(name, [])
        click.echo(f"{schema.get('namespace', '')}.{name}  ({len(schema['fields'])} fields)")
        click.echo(f"  {schema.get('doc', '')}")
        click.echo(f"  topics: {', '.join(topics) if all_topics else _short(topics) or '(none)'}")


@schemas.command(short_help="Register every topic's value schema in a registry.")
@click.option("--registry", "url", default=None, help=REGISTRY_HELP)
def register(url: str | None) -> None:
    """Register every catalogue topic's value schema (subject <topic>-value)."""
    from schemas.registry_client import RegistryClient, RegistryError, register_all

    url = _registry_url(url)
    try:
        with RegistryClient(url) as client:
            ids = register_all(client)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from exc
    from schemas.catalogue import BY_NAME

    for subject, schema_id in sorted(ids.items()):
        click.echo(f"{subject:40} id {schema_id:<4} {BY_NAME[subject.removesuffix('-value')].value_schema}")
    click.echo(f"registered {len(ids)} subjects at {url}")


@schemas.command(short_help="Check the local .avsc files against a registry (or released versions).")
@click.option("--registry", "url", default=None, help=REGISTRY_HELP)
@click.option("--history", is_flag=True, help="Check against the released versions in schemas/avro/history instead (offline, as CI does).")
def check(url: str | None, history: bool) -> None:
    """Whether the local .avsc files may follow what is registered (or released); exit 1 if not."""
    failures = _check_history() if history else _check_registry(_registry_url(url))
    if failures:
        click.echo(f"{failures} incompatible; fix the .avsc (add defaults, keep symbols) or register under a new subject", err=True)
        sys.exit(1)


def _check_history() -> int:
    from schemas.avro_files import load_schema, record_names, released_versions
    from schemas.compat import check_compatibility

    failures = 0
    for name in record_names():
        released = released_versions(name)
        messages = check_compatibility(load_schema(name), [s for _, s in released], "BACKWARD_TRANSITIVE", [v for v, _ in released])
        failures += _report(name, f"{len(released)} released version(s)", messages)
    return failures


def _check_registry(url: str) -> int:
    from schemas.avro_files import load_schema
    from schemas.registry_client import RegistryClient, RegistryError, SubjectNotFound

    failures = 0
    with RegistryClient(url) as client:
        for record, topics in sorted(_topics_by_record().items()):
            local, problems, missing = load_schema(record), {}, []
            for topic in topics:
                try:
                    messages = client.check_compatibility(f"{topic}-value", local, "latest")
                except SubjectNotFound:
                    missing.append(topic)
                    continue
                except RegistryError as exc:
                    raise click.ClickException(str(exc)) from exc
                if messages:
                    problems[topic] = messages
            checked = len(topics) - len(missing)
            failures += _report(record, f"{checked} registered subject(s)", [f"{t}-value: {m}" for t, ms in problems.items() for m in ms])
            if missing:
                click.echo(f"  not registered yet: {_short(missing)} (run `hub schemas register`)")
    return failures


def _report(record: str, against: str, messages: list[str]) -> int:
    if not messages:
        click.echo(f"ok            {record} (against {against})")
        return 0
    click.echo(f"INCOMPATIBLE  {record} (against {against})")
    for message in messages:
        click.echo(f"  - {message}")
    return 1


@schemas.command(short_help="Time the Avro serde (records/s per core).")
@click.option("--record", "record_name", default="Grade", show_default=True, help="Record to time.")
@click.option("--count", default=100_000, show_default=True, help="Records per timing run (best of 3).")
@click.option("--registry", "url", default=None, help="Use this registry instead of a temporary embedded one.")
def bench(record_name: str, count: int, url: str | None) -> None:
    """Time AvroSerializer.serialize and AvroDeserializer.deserialize on one core (no Kafka)."""
    from hub.registry import serve_registry
    from schemas.avro_files import load_schema
    from schemas.catalogue import TOPICS
    from schemas.registry_client import RegistryClient
    from schemas.serde import AvroDeserializer, AvroSerializer

    topic = next(t.name for t in TOPICS if t.value_schema == record_name)
    record = _sample(load_schema(record_name), {})
    with tempfile.TemporaryDirectory() as folder:
        running = None if url else serve_registry(folder)
        try:
            client = RegistryClient(url or running.url)  # type: ignore[union-attr]
            serializer, deserializer = AvroSerializer(client, topic), AvroDeserializer(client)
            data = serializer.serialize(record)
            assert deserializer.deserialize(data, topic) == record
            click.echo(f"{record_name} on {topic}: {len(data)} bytes framed, {count:,} records per run, best of 3")
            click.echo("  (records per CPU-second of this thread, so other load on the machine does not count; wall clock in brackets)")
            for label, step in (("serialize", lambda: serializer.serialize(record)), ("deserialize", lambda: deserializer.deserialize(data, topic, 0, 0))):
                cpu, wall = min(_timed(step, count) for _ in range(3))
                click.echo(f"  {label:12} {count / cpu:>10,.0f} records/s  {cpu / count * 1e6:6.2f} µs/record  [wall {count / wall:,.0f}/s]")
        finally:
            if running is not None:
                running.stop()


def _timed(step: Any, count: int) -> tuple[float, float]:
    """(CPU seconds of this thread, wall seconds) for ``count`` steps."""
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(count):
        step()
    return time.thread_time() - cpu, time.perf_counter() - wall


def _sample(schema: Any, named: dict[str, Any]) -> Any:
    """A plausible value for ``schema`` (first non-null union branch, one array item), for timing."""
    import datetime as dt
    import decimal
    import uuid

    if isinstance(schema, list):
        return _sample(next((s for s in schema if s != "null"), "null"), named)
    if isinstance(schema, str):
        if schema in named:
            return _sample(named[schema], named)
        samples = {"null": None, "boolean": True, "int": 3, "long": 1_700_000_000, "float": 1.5, "double": 72.5, "bytes": b"\x00" * 16, "string": "sample-text-16ch"}
        return samples[schema]
    logical = schema.get("logicalType")
    if logical == "uuid":
        return str(uuid.uuid4())
    if logical == "timestamp-millis":
        return dt.datetime(2026, 1, 20, 9, 30, 12, 345000, tzinfo=dt.UTC)
    if logical == "date":
        return dt.date(2026, 1, 14)
    if logical == "decimal":
        return decimal.Decimal("7.50")
    kind = schema["type"]
    if kind == "record":
        named[schema["name"]] = schema
        return {f["name"]: _sample(f["type"], named) for f in schema["fields"]}
    if kind == "enum":
        named[schema["name"]] = schema
        return schema["symbols"][0]
    if kind == "array":
        return [_sample(schema["items"], named)]
    if kind == "map":
        return {"k": _sample(schema["values"], named)}
    return _sample(kind, named)
