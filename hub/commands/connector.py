"""``hub connector``: list, check, dry-run, run, replay and watch partner connectors.

This module wires hub settings (data dir, Kafka, schema registry) into the
connector SDK; ``connectors`` itself never imports ``hub``.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from hub.logs import configure_logging
from hub.settings import HubSettings, load_settings


def _hub(ctx: click.Context) -> HubSettings:
    settings = load_settings(**ctx.obj)
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _store(settings: HubSettings, name: str) -> Any:
    from connectors.sdk import CursorStore

    return CursorStore(settings.data_dir / "connectors" / f"{name}.sqlite")


def _connector(name: str, settings_file: Path | None) -> Any:
    from connectors.sdk import ConfigError, find_connector

    try:
        cls = find_connector(name)
    except LookupError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        conn = cls(cls.load_settings(settings_file))
        conn.sources(conn.settings)  # source options (encodings, modes, URLs) are settings too
        return conn
    except ConfigError as exc:
        click.echo(f"hub connector: {cls.name} ({cls.hei}) has invalid settings:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(exc.exit_code)


def _kafka_options(fn: Any) -> Any:
    """``--bootstrap-servers`` / ``--registry-url`` also after ``run`` and ``replay`` (they override the group's)."""
    fn = click.option("--registry-url", "sub_registry_url", default=None, help="Schema registry (default HUB_SCHEMA_REGISTRY_URL).")(fn)
    return click.option("--bootstrap-servers", "sub_bootstrap_servers", default=None,
                        help="Kafka to publish to (default HUB_BOOTSTRAP_SERVERS).")(fn)


def _override(ctx: click.Context, bootstrap_servers: str | None, registry_url: str | None) -> None:
    if bootstrap_servers:
        ctx.obj["bootstrap_servers"] = bootstrap_servers
    if registry_url:
        ctx.obj["schema_registry_url"] = registry_url


_settings_option = click.option("--settings", "settings_file", type=click.Path(dir_okay=False, path_type=Path),
                                default=None, help="Connector settings file (default connectors/partners/<name>.toml).")


@click.group()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where cursors are kept (default HUB_DATA_DIR).")
@click.option("--bootstrap-servers", default=None, help="Kafka to publish to (default HUB_BOOTSTRAP_SERVERS).")
@click.option("--registry-url", default=None, help="Schema registry (default HUB_SCHEMA_REGISTRY_URL).")
@click.pass_context
def connector(ctx: click.Context, data_dir: Path | None, bootstrap_servers: str | None, registry_url: str | None) -> None:
    """Check, dry-run, run and replay a partner's SIS connector.

    \b
    hub connector list                          the connectors in connectors/partners/
    hub connector check th-deg.de               settings, connectivity, one sample mapped
    hub connector dry-run th-deg.de --limit 5   mapped events as canonical JSON, nothing published
    hub connector run th-deg.de [--once]        publish to sis.<hei>.* (cursor saved after Kafka acks)
    hub connector replay th-deg.de --from beginning
    hub connector status                        cursors, counts, rejections per reason, last error
    """
    ctx.obj = {"data_dir": data_dir, "bootstrap_servers": bootstrap_servers, "schema_registry_url": registry_url}


@connector.command("list")
def list_() -> None:
    """List the connectors found in connectors/partners/."""
    from connectors.sdk import discover
    from connectors.sdk._discover import BROKEN

    for name, cls in discover().items():
        sources = ", ".join(cls.mappings)
        click.echo(f"{name:<20} {cls.hei:<15} {cls.env_prefix()}*  sources: {sources}  {cls.description}")
    for module, error in BROKEN.items():
        click.echo(f"{module}: cannot be imported: {error}", err=True)


@connector.command()
@click.argument("name")
@_settings_option
@click.pass_context
def check(ctx: click.Context, name: str, settings_file: Path | None) -> None:
    """Check settings and connectivity, and map one sample record; nothing is published."""
    from connectors.sdk import ConnectorError, ConnectorRunner, MemoryPublisher
    from schemas.canonical import to_json

    settings = _hub(ctx)
    conn = _connector(name, settings_file)
    click.echo(f"settings: ok ({conn.env_prefix()}*, {conn.settings_file})")
    failed = False
    for src in conn.sources(conn.settings):
        try:
            src.open()
            try:
                click.echo(f"{src.describe()}: {src.check()}")
            finally:
                src.close()
        except ConnectorError as exc:
            failed = True
            click.echo(f"{src.describe()}: FAILED: {exc}", err=True)
    if failed:
        sys.exit(1)
    runner = ConnectorRunner(conn, MemoryPublisher(), _store(settings, conn.name))
    try:
        for source, _item, outcome in runner.outcomes(cursors={s: None for s in conn.mappings}, limit=1):
            for out in outcome.outputs:
                click.echo(f"sample from {source} → {out.topic} key={out.key.decode()}:\n{to_json(out.event)}")
            if outcome.dead_letter is not None:
                click.echo(f"sample from {source} would be dead-lettered: {outcome.dead_letter.event.reason}")  # type: ignore[attr-defined]
            if outcome.skipped:
                click.echo(f"sample from {source} skipped: {outcome.skipped}")
            break
        else:
            click.echo("no record to sample (the sources are empty)")
    except ConnectorError as exc:
        click.echo(f"reading a sample failed: {exc}", err=True)
        sys.exit(1)


@connector.command("dry-run")
@click.argument("name")
@click.option("--limit", type=int, default=10, show_default=True, help="Records to read.")
@click.option("--from", "from_", default="saved", show_default=True, help="'saved' cursor, 'beginning', or a cursor as JSON.")
@_settings_option
@click.pass_context
def dry_run(ctx: click.Context, name: str, limit: int, from_: str, settings_file: Path | None) -> None:
    """Print mapped events as canonical JSON lines (rejections on stderr); nothing is published or saved."""
    from connectors.sdk import ConnectorError, ConnectorRunner, MemoryPublisher
    from schemas.canonical import to_json

    settings = _hub(ctx)
    conn = _connector(name, settings_file)
    cursors = None if from_ == "saved" else {s: _parse_cursor(from_) for s in conn.mappings}
    runner = ConnectorRunner(conn, MemoryPublisher(), _store(settings, conn.name))
    try:
        for source, _item, outcome in runner.outcomes(cursors=cursors, limit=limit):
            for out in outcome.outputs:
                click.echo(to_json(out.event))
            if outcome.dead_letter is not None:
                letter = outcome.dead_letter.event
                click.echo(f"rejected [{letter.error_kind}] {source} {letter.source_location}: {letter.reason}", err=True)  # type: ignore[attr-defined]
            if outcome.skipped:
                click.echo(f"skipped {source}: {outcome.skipped}", err=True)
    except ConnectorError as exc:  # a source or a lookup is down, or answers what cannot be read
        click.echo(f"dry-run stopped: {exc}", err=True)
        sys.exit(1)


@connector.command()
@click.argument("name")
@click.option("--once", is_flag=True, help="Return once every source has caught up.")
@click.option("--batch-size", type=int, default=1000, show_default=True, help="Records per Kafka flush and cursor save.")
@_settings_option
@_kafka_options
@click.pass_context
def run(ctx: click.Context, name: str, once: bool, batch_size: int, settings_file: Path | None,
        sub_bootstrap_servers: str | None, sub_registry_url: str | None) -> None:
    """Publish to sis.<hei>.* until stopped (Ctrl-C / SIGTERM finish the batch and save the cursor)."""
    _override(ctx, sub_bootstrap_servers, sub_registry_url)
    settings = _hub(ctx)
    conn = _connector(name, settings_file)
    _run(settings, conn, once, batch_size)


@connector.command()
@click.argument("name")
@click.option("--from", "from_", required=True, help="'beginning' or a cursor as JSON (see `hub connector status`).")
@click.option("--source", default=None, help="Only this source (default every source).")
@click.option("--follow", is_flag=True, help="Keep running after catching up.")
@_settings_option
@_kafka_options
@click.pass_context
def replay(ctx: click.Context, name: str, from_: str, source: str | None, follow: bool, settings_file: Path | None,
           sub_bootstrap_servers: str | None, sub_registry_url: str | None) -> None:
    """Reset the cursor and publish again from there (records keep their event_id, so consumers dedupe)."""
    from connectors.sdk import ConnectorRunner, MemoryPublisher

    _override(ctx, sub_bootstrap_servers, sub_registry_url)
    settings = _hub(ctx)
    conn = _connector(name, settings_file)
    cursor = None if from_ == "beginning" else _parse_cursor(from_)
    try:
        names = ConnectorRunner(conn, MemoryPublisher(), _store(settings, conn.name)).replay(cursor, source)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    click.echo(f"cursor of {', '.join(names)} reset to {from_}", err=True)
    _run(settings, conn, not follow, 1000)


@connector.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Per connector: last cursor, published per topic, rejected per reason, last error."""
    from connectors.sdk import discover

    settings = _hub(ctx)
    report = {}
    for name, cls in discover().items():
        path = settings.data_dir / "connectors" / f"{name}.sqlite"
        report[name] = {"hei": cls.hei, **(_store(settings, name).status() if path.exists() else {"state": "never run"})}
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    for name, st in report.items():
        click.echo(f"{name} ({st['hei']})")
        if "cursors" not in st:
            click.echo("  never run")
            continue
        for src, cur in st["cursors"].items():
            click.echo(f"  cursor {src}: {json.dumps(cur['cursor'])} (saved {cur['saved_at']})")
        for topic, n in st["published"].items():
            click.echo(f"  published {topic}: {n}")
        for reason, n in st["rejected"].items():
            click.echo(f"  rejected {reason}: {n}")
        for reason, n in st["skipped"].items():
            click.echo(f"  skipped {reason}: {n}")
        if st["last_error"]:
            click.echo(f"  last error ({st['last_error']['at']}): {st['last_error']['value']}")


def _parse_cursor(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise click.BadParameter(f"{text!r} is neither 'beginning' nor a JSON cursor such as "
                                 '\'{"file": "a.csv", "row": 10}\'') from None


def _run(settings: HubSettings, conn: Any, once: bool, batch_size: int) -> None:
    from connectors.sdk import (
        ConnectorRunner,
        KafkaPublisher,
        PublishFailed,
        RegistrySerializer,
        SourceUnavailable,
        StopConnector,
    )

    if not settings.bootstrap_servers:
        raise click.UsageError("no Kafka to publish to: set HUB_BOOTSTRAP_SERVERS or --bootstrap-servers "
                               "(`hub broker` prints the address)")
    if not settings.schema_registry_url:
        raise click.UsageError("no schema registry: set HUB_SCHEMA_REGISTRY_URL or --registry-url "
                               "(`hub registry` prints the address)")
    try:
        publisher = KafkaPublisher(settings.bootstrap_servers, client_id=f"hub-connector-{conn.name}")
    except PublishFailed as exc:
        click.echo(f"hub connector: {exc}", err=True)
        sys.exit(1)
    serializer = RegistrySerializer(settings.schema_registry_url)
    runner = ConnectorRunner(conn, publisher, _store(settings, conn.name), serializer=serializer,
                             batch_size=batch_size, progress=_progress(conn.name) if sys.stderr.isatty() else None)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: runner.stop())
    code = 0
    try:
        totals = runner.run(once=once)
        if sys.stderr.isatty():
            click.echo("", err=True)  # end the progress line
        click.echo(f"{conn.name}: published {sum(totals.published.values())}, rejected {sum(totals.rejected.values())}, "
                   f"skipped {sum(totals.skipped.values())}", err=True)
    except StopConnector as exc:
        click.echo(f"hub connector: {conn.name} stopped: {exc}", err=True)
        code = exc.exit_code
    except SourceUnavailable as exc:
        click.echo(f"hub connector: {conn.name}: {exc}", err=True)
        code = 1
    finally:
        publisher.close()
        serializer.close()
    sys.exit(code)


def _progress(name: str) -> Any:
    def show(totals: Any) -> None:
        published = sum(totals.published.values())
        rate = published / max(1e-6, time.monotonic() - totals.started)
        click.echo(f"\r{name}: published {published} ({rate:,.0f}/s), rejected {sum(totals.rejected.values())}   ",
                   nl=False, err=True)

    return show
