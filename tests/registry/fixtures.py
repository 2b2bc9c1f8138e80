"""Registry fixtures: one hub registry on 127.0.0.1 for the session, and short-lived ones for tests that change global state.

Move ``registry`` and ``registry_client`` to ``tests/conftest.py`` when other packages' tests need them;
until then a test module outside tests/registry imports them from here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from hub.registry import RunningRegistry, serve_registry
from schemas.registry_client import RegistryClient


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """The session's schema registry (real uvicorn on a free loopback port, SQLite in a temp folder)."""
    running = serve_registry(tmp_path_factory.mktemp("registry"), port=0)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def registry_client(registry: RunningRegistry) -> Iterator[RegistryClient]:
    """A fresh client (empty caches) of the session registry."""
    with RegistryClient(registry.url) as client:
        yield client


@pytest.fixture
def subject() -> Callable[[str], str]:
    """A subject name unique to the test, so tests sharing the session registry never collide."""
    tag = uuid.uuid4().hex[:8]
    return lambda name="s": f"test-{tag}-{name}"
