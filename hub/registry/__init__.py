"""The hub's own Confluent-compatible schema registry (Avro only), kept in SQLite.

    >>> from hub.registry import serve_registry
    >>> with serve_registry(".hub-data") as registry:        # doctest: +SKIP
    ...     print(registry.url)                              # http://127.0.0.1:<free port>

Clients (ours in ``schemas.registry_client``, Confluent's serializers, Karapace
tools) talk to it over the same REST API as Confluent Schema Registry.
"""

from hub.registry.api import MEDIA_TYPE, create_app
from hub.registry.errors import RegistryFault
from hub.registry.server import (
    DEFAULT_PORT,
    RegistryStartError,
    RunningRegistry,
    bind,
    run_registry,
    serve_registry,
)
from hub.registry.store import RegistryStore

__all__ = [
    "DEFAULT_PORT",
    "MEDIA_TYPE",
    "RegistryFault",
    "RegistryStartError",
    "RegistryStore",
    "RunningRegistry",
    "bind",
    "create_app",
    "run_registry",
    "serve_registry",
]
