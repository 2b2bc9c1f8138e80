"""What a stream worker needs to know: where Kafka and the registry are, and how to run.

Addresses come from ``hub.settings`` (``HUB_BOOTSTRAP_SERVERS``,
``HUB_SCHEMA_REGISTRY_URL``, or what ``hub up`` started); the knobs of the
stream processors from ``HUB_STREAMS_*`` variables (:class:`StreamsSettings`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

__all__ = ["StreamsConfig", "StreamsSettings", "ConfigError", "load_streams_settings"]


class ConfigError(ValueError):
    """The stream processors cannot start with these settings; the message names the setting to fix."""


class StreamsSettings(BaseSettings):
    """``HUB_STREAMS_*``: how the stream workers run."""

    model_config = SettingsConfigDict(env_prefix="HUB_STREAMS_", extra="ignore")

    app_id: str = Field("heroes-streams", description="Kafka consumer group and prefix of the internal topics.")
    topic_prefix: str = Field("", description="Prefix of every topic name (tests and parallel deployments on one cluster).")
    recognise: Literal["stage", "faust"] = Field("stage", description="Where recognise runs: stage (plain Kafka batches, states on a "
                                                 "compacted topic; the faster) or faust (a faust agent with faust tables).")
    store: Literal["memory", "rocksdb"] = Field("memory", description="faust table store (recognise=faust): memory (rebuilt from changelogs "
                                                "at start) or rocksdb (on disk, needs rocksdict).")
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field("at_least_once", description="Processing guarantee of the stages and faust workers.")
    workers: int = Field(1, ge=1, le=64, description="Worker processes `hub streams run` and `hub up` start (more than one: see the README "
                                                     "on rebalances).")
    standby_replicas: int = Field(0, ge=0, le=3, description="Standby table replicas per worker (faster fail-over, more CPU).")
    session_timeout: float = Field(10.0, gt=1, description="Consumer group session timeout in seconds (short = fast restarts).")
    dedupe_days: int = Field(60, ge=1, description="How long (event time) the normaliser remembers an event id to drop its duplicates.")
    dedupe_max_ids: int = Field(2000, ge=10, description="At most this many event ids remembered per partner student.")

    @model_validator(mode="after")
    def _one_worker_under_exactly_once(self) -> "StreamsSettings":
        check_workers(self.workers, self.processing_guarantee)
        return self

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        """``HUB_STREAMS_*`` first, then the ``[streams]`` table of hub.toml."""
        from hub.settings import config_file

        path = config_file()
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("streams", {}) if path.is_file() else {}
        return (init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=table))


def check_workers(workers: int, processing_guarantee: str) -> None:
    """exactly_once runs with one worker: with two, a rebalance leaves faust-streaming 0.15 without the transactional
    producer of a partition it sends for ("No transaction producer found") and the workers crash in a loop."""
    if processing_guarantee == "exactly_once" and workers > 1:
        raise ValueError(f"exactly_once runs with one worker, not {workers}: faust-streaming 0.15 loses the transactional producers "
                         "of its partitions when workers rebalance; use at_least_once (the ledger is idempotent) for more workers")


def load_streams_settings() -> StreamsSettings:
    """``HUB_STREAMS_*`` and hub.toml's ``[streams]``; ConfigError naming every invalid one."""
    try:
        return StreamsSettings()
    except ValidationError as exc:
        problems = [f"HUB_STREAMS_{'.'.join(map(str, e['loc'])).upper()} (hub.toml [streams] {'.'.join(map(str, e['loc']))}): {e['msg']}"
                    if e["loc"] else e["msg"].removeprefix("Value error, ") for e in exc.errors()]
        raise ConfigError("invalid stream settings: " + "; ".join(problems)) from None


@dataclass(frozen=True)
class StreamsConfig:
    """Everything one worker (or the ledger writer) needs; build with :meth:`from_settings`."""

    bootstrap_servers: str
    registry_url: str
    data_dir: Path = Path(".hub-data")
    app_id: str = "heroes-streams"
    topic_prefix: str = ""
    partitions: int = 6
    recognise: str = "stage"
    store: str = "memory"
    processing_guarantee: str = "at_least_once"
    workers: int = 1
    standby_replicas: int = 0
    session_timeout: float = 10.0
    dedupe_days: int = 60
    dedupe_max_ids: int = 2000
    ledger_url: str | None = None
    worker_name: str = "w1"
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_settings(cls, hub, streams: StreamsSettings | None = None, *, bootstrap_servers: str | None = None,
                      registry_url: str | None = None, **overrides) -> "StreamsConfig":
        """From ``hub.settings.HubSettings`` plus ``HUB_STREAMS_*``; explicit addresses win (``hub up``)."""
        streams = streams or load_streams_settings()
        bootstrap = bootstrap_servers or hub.bootstrap_servers
        registry = registry_url or hub.schema_registry_url
        if not bootstrap:
            raise ConfigError("no Kafka broker: set HUB_BOOTSTRAP_SERVERS (or start everything with `hub up`)")
        if not registry:
            raise ConfigError("no schema registry: set HUB_SCHEMA_REGISTRY_URL (or start everything with `hub up`)")
        config = cls(
            bootstrap_servers=bootstrap, registry_url=registry, data_dir=Path(hub.data_dir), partitions=hub.partitions,
            ledger_url=hub.ledger_database_url, **streams.model_dump(),
        )
        return replace(config, **overrides) if overrides else config

    def topic(self, name: str) -> str:
        """The real name of a catalogue topic under this deployment's prefix."""
        return f"{self.topic_prefix}{name}"

    @property
    def internal_prefix(self) -> str:
        return f"{self.topic_prefix}{self.app_id}"

    @property
    def registrar_by_esi_topic(self) -> str:
        """Registrar decisions re-keyed by student ESI, so they meet the student's recognition state."""
        return f"{self.internal_prefix}.registrar-by-esi"
