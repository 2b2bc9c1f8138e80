"""``hub up`` part: the Kafka broker (embedded or external) with every catalogue topic."""

from __future__ import annotations

import click

from hub.broker import RunningBroker, ensure_topics, start_from_settings
from hub.runtime import RunContext


class BrokerPart:
    name = "broker"

    def __init__(self) -> None:
        self._broker: RunningBroker | None = None

    def start(self, ctx: RunContext) -> str:
        broker = start_from_settings(ctx.settings, progress=lambda line: click.echo(f"  {line}", err=True))
        self._broker = broker
        created = ensure_topics(
            broker.bootstrap_servers, ctx.settings.partitions, ctx.settings.replication_factor, engine=broker.engine
        )
        ctx.broker = broker
        ctx.bootstrap_servers = broker.bootstrap_servers
        ctx.extras["topics_created"] = created
        return f"{broker.engine} at {broker.bootstrap_servers} ({broker.why})"

    def stop(self) -> None:
        if self._broker is not None:
            self._broker.stop()
