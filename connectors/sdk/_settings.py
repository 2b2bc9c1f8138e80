"""Partner settings: a pydantic-settings model read from ``HUB_<HEI>_*`` variables and a TOML file.

The environment wins over the file, so a secret never has to sit in the file.
Every problem is reported at once as a :class:`ConfigError`, each line naming the
variable and the file key to fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from connectors.sdk._errors import ConfigError


class ConnectorSettings(BaseSettings):
    """Base of a partner's settings. Subclass it and declare fields; secrets as ``SecretStr``.

    Example::

        from pydantic import SecretStr
        from connectors.sdk import ConnectorSettings

        class Settings(ConnectorSettings):
            base_url: str = "https://sis.example.org/api"
            token: SecretStr                 # HUB_HH_TOKEN, never in the TOML file
            page_size: int = 200

    The SDK sets the environment prefix (``HUB_HH_`` for ``hh.se``) and the TOML
    file (``connectors/partners/<name>.toml``); do not set ``model_config`` yourself.
    """

    model_config = SettingsConfigDict(extra="forbid")


def env_prefix(hei: str) -> str:
    """``HUB_HH_`` for ``hh.se``, ``HUB_TH_DEG_`` for ``th-deg.de``: the first label of the SCHAC code."""
    return "HUB_" + re.sub(r"[^A-Za-z0-9]", "_", hei.split(".")[0]).upper() + "_"


def load_settings(
    settings_class: type[ConnectorSettings],
    hei: str,
    toml_file: Path | None,
    **overrides: Any,
) -> ConnectorSettings:
    """Build the settings from overrides, then ``HUB_<HEI>_*`` variables, then the TOML file, then defaults."""
    prefix = env_prefix(hei)
    file = toml_file if toml_file is not None and toml_file.exists() else None

    class _Bound(settings_class):  # type: ignore[valid-type,misc]
        model_config = SettingsConfigDict(env_prefix=prefix, extra="forbid", env_nested_delimiter="__")

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if file is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=file))
            return tuple(sources)

    _Bound.__name__ = settings_class.__name__
    _Bound.__qualname__ = settings_class.__qualname__
    try:
        return _Bound(**overrides)
    except ValidationError as exc:
        where = f" ({file.name}: {{key}})" if file else ""
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            var = prefix + key.replace(".", "__").upper()
            problems.append(f"{var}{where.format(key=key)}: {err['msg']}")
        raise ConfigError(problems) from exc
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        raise ConfigError(f"cannot read settings file {file}: {exc}") from exc
