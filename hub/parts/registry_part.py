"""``hub up`` part: the schema registry (embedded, or HUB_SCHEMA_REGISTRY_URL) with every topic's schema."""

from __future__ import annotations

from hub.registry import RunningRegistry, serve_registry
from hub.registry.server import DEFAULT_PORT
from hub.runtime import RunContext
from schemas.registry_client import RegistryClient, register_all


class RegistryPart:
    name = "schema registry"

    def __init__(self) -> None:
        self._registry: RunningRegistry | None = None

    def start(self, ctx: RunContext) -> str:
        url = ctx.settings.schema_registry_url
        if url is None:
            try:
                self._registry = serve_registry(ctx.data_dir, port=DEFAULT_PORT)
            except OSError:  # the default port is taken: any free one
                self._registry = serve_registry(ctx.data_dir, port=0)
            url = self._registry.url
        with RegistryClient(url) as client:
            subjects = register_all(client)
        ctx.registry_url = url
        return f"{url} ({len(subjects)} subjects, one per topic)"

    def stop(self) -> None:
        if self._registry is not None:
            self._registry.stop()
