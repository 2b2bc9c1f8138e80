"""``hub registry``: the hub's Confluent-compatible schema registry in the foreground, until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import click

from hub.logs import configure_logging
from hub.settings import load_settings

EPILOG = """\b
REST API (Confluent Schema Registry, Avro only; answers are
application/vnd.schemaregistry.v1+json, errors {"error_code", "message"}):
  GET    /subjects                                   subjects
  POST   /subjects/{subject}/versions                register {"schema": "..."} -> {"id"}
  POST   /subjects/{subject}                         look a schema up -> subject, id, version, schema
  GET    /subjects/{subject}/versions                versions
  GET    /subjects/{subject}/versions/{v|latest}     one version (.../schema: the schema alone)
  DELETE /subjects/{subject}[?permanent=true]        delete (soft first, then permanent)
  GET    /schemas/ids/{id}                           schema by global id (.../subjects, .../versions)
  GET|PUT /config, /config/{subject}                 compatibility level (default BACKWARD)
  POST   /compatibility/subjects/{subject}/versions/{v|latest}?verbose=true
\b
Error codes: 40401 subject, 40402 version, 40403 schema not found;
409 incompatible; 42201 invalid schema; 42202 invalid version;
42203 invalid compatibility level; 50001 store error.
\b
Schemas are kept in <data-dir>/registry.sqlite; ids survive restarts.
\b
Environment:
  HUB_DATA_DIR             data folder, as --data-dir
  HUB_SCHEMA_REGISTRY_URL  where hub components find a registry: this one
                           (http://127.0.0.1:8081) by default, or Confluent
                           Schema Registry / Karapace in production
\b
Example:
  curl -s -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \\
       --data '{"schema": "\\"string\\""}' http://127.0.0.1:8081/subjects/demo-value/versions
"""


@click.command(epilog=EPILOG)
@click.option("--port", type=int, default=8081, show_default=True, help="Port on --host; 0 = any free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Folder of registry.sqlite (default HUB_DATA_DIR or ./.hub-data).")
def registry(port: int, host: str, data_dir: Path | None) -> None:
    """Run the schema registry in the foreground; Ctrl-C stops it.

    Serves the Confluent Schema Registry REST API, so the hub's own client,
    Confluent's serializers and Kafka tools that speak Schema Registry all
    work against it.
    """
    from hub.registry import RegistryStartError, run_registry

    settings = load_settings(data_dir=data_dir)
    configure_logging(settings.log_level, settings.log_format)

    def ready(url: str) -> None:
        click.echo(f"hub registry: serving {url} (data {settings.data_dir / 'registry.sqlite'}); Ctrl-C stops")
        click.echo(f"hub registry: for other hub commands: export HUB_SCHEMA_REGISTRY_URL={url}")

    try:
        run_registry(settings.data_dir, host, port, on_ready=ready)
    except RegistryStartError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled, once it has shut down
        pass
    click.echo("hub registry: stopped")
