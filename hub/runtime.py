"""The parts ``hub up`` starts, in order, and stops in reverse order.

A part is anything with a name, a ``start(ctx)`` that returns one line saying what
runs where, and a ``stop()``.  Parts that a later stage adds (simulated partners,
connectors, stream workers, ledger, web app) join ``hub up`` by appending a factory
to :data:`PART_FACTORIES`; a part whose code is not installed is simply skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hub.settings import HubSettings


@dataclass
class RunContext:
    """What the parts started so far expose to the next ones."""

    settings: HubSettings
    data_dir: Path
    options: dict[str, Any] = field(default_factory=dict)
    bootstrap_servers: str = ""
    registry_url: str = ""
    broker: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


class Part(Protocol):
    name: str

    def start(self, ctx: RunContext) -> str: ...

    def stop(self) -> None: ...


# "module:callable" returning a Part, in start order; missing modules are skipped.
PART_FACTORIES: list[str] = [
    "hub.parts.broker_part:BrokerPart",
    "hub.parts.registry_part:RegistryPart",
    "hub.parts.simulation_part:SimulationPart",
    "hub.parts.connectors_part:ConnectorsPart",
    "hub.parts.streams_part:StreamsPart",
    "hub.parts.ledger_part:LedgerPart",
    "hub.parts.web_part:WebPart",
]


def available_parts() -> list[Callable[[], Part]]:
    factories = []
    for spec in PART_FACTORIES:
        module, _, attr = spec.partition(":")
        if importlib.util.find_spec(module) is None:
            continue
        factories.append(getattr(importlib.import_module(module), attr))
    return factories
