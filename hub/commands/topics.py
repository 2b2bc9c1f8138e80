"""``hub topics``: the topic catalogue, and creating its topics on a broker."""

from __future__ import annotations

import sys

import click

from hub.logs import configure_logging
from hub.settings import load_settings


@click.command()
@click.option("--create", is_flag=True, help="Create every catalogue topic that does not exist yet (idempotent).")
@click.option("--bootstrap-servers", default=None, help="Broker to create them on (default HUB_BOOTSTRAP_SERVERS).")
@click.option("--partitions", type=int, default=None, help="Partitions per created topic (default HUB_PARTITIONS, else 6).")
@click.option("--replication-factor", type=int, default=None, help="Replication factor (default HUB_REPLICATION_FACTOR, else 1; 3 in production).")
def topics(create: bool, bootstrap_servers: str | None, partitions: int | None, replication_factor: int | None) -> None:
    """List the topic catalogue (name, key, value schema, compacted), or create its topics.

    \b
    The catalogue (schemas/catalogue.py) is the one place a topic is declared:
      hub topics                                            list it
      hub topics --create --bootstrap-servers 127.0.0.1:9092  create what is missing
    Compacted topics get cleanup.policy=compact. `hub broker` and `hub up`
    create the topics by themselves.
    """
    from schemas.catalogue import TOPICS

    settings = load_settings(bootstrap_servers=bootstrap_servers, partitions=partitions, replication_factor=replication_factor)
    configure_logging(settings.log_level, settings.log_format)
    rows = [("topic", "key", "value schema", "compacted")]
    rows += [(t.name, t.key, t.value_schema, "yes" if t.compacted else "") for t in TOPICS]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip())
    if not create:
        return
    if not settings.bootstrap_servers:
        raise click.UsageError("--create needs --bootstrap-servers or HUB_BOOTSTRAP_SERVERS (the address `hub broker` prints)")
    from hub.broker import BrokerError, ensure_topics

    try:
        created = ensure_topics(settings.bootstrap_servers, settings.partitions, settings.replication_factor)
    except BrokerError as exc:
        click.echo(f"hub topics: {exc}", err=True)
        sys.exit(1)
    click.echo(f"\n{len(created)} topic(s) created on {settings.bootstrap_servers}, {len(TOPICS) - len(created)} already there.")
