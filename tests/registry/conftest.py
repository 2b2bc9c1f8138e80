"""Fixtures of the registry tests (see fixtures.py)."""

from tests.registry.fixtures import registry, registry_client, subject  # noqa: F401
