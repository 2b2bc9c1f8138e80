"""Hub-wide settings: ``HUB_*`` environment variables, then an optional ``hub.toml``, then defaults.

Invalid settings are reported all at once and the command exits with code 2
(see :func:`load_settings`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

import click
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

CONFIG_FILE_ENV = "HUB_CONFIG"


class HubSettings(BaseSettings):
    """Settings shared by every hub command."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="forbid", toml_file="hub.toml")

    data_dir: Path = Field(Path(".hub-data"), description="Where the embedded broker, registry and ledger keep their files.")
    broker: Literal["auto", "kafka", "tansu"] = Field("auto", description="Embedded broker engine; auto = Apache Kafka where Java >= 17 is found, else Tansu.")
    bootstrap_servers: str | None = Field(None, description="Use this external Kafka cluster instead of an embedded broker (host:port,...).")
    schema_registry_url: str | None = Field(None, description="Use this Confluent Schema Registry or Karapace instead of the embedded registry.")
    partitions: int = Field(6, ge=1, le=1000, description="Partitions per hub topic.")
    replication_factor: int = Field(1, ge=1, le=10, description="Replication factor of created topics (3 in production).")
    ledger_url: str | None = Field(None, description="SQLAlchemy URL of the ledger; default an SQLite file in data_dir.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = Field("auto", description="auto = colour on a terminal, JSON lines otherwise.")
    streams: dict[str, object] = Field(default_factory=dict, description="The [streams] table: knobs of the stream workers, as HUB_STREAMS_* (checked by streams.config).")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file()))

    @property
    def ledger_database_url(self) -> str:
        return self.ledger_url or f"sqlite:///{(self.data_dir / 'ledger.sqlite').resolve()}"


def config_file() -> Path:
    """The hub.toml in use (``HUB_CONFIG`` names another one)."""
    return Path(os.environ.get(CONFIG_FILE_ENV, "hub.toml"))


def describe_errors(exc: ValidationError, prefix: str = "HUB_") -> list[str]:
    """One line per problem, naming the environment variable or hub.toml key to fix."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        lines.append(f"{prefix}{loc.upper()} (hub.toml: {loc}): {err['msg']}")
    return lines


def load_settings(**overrides: object) -> HubSettings:
    """Load settings; on any invalid value print every problem and exit with code 2."""
    try:
        return HubSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        click.echo("hub: invalid settings:", err=True)
        for line in describe_errors(exc):
            click.echo(f"  - {line}", err=True)
        sys.exit(2)
