"""Settings of one simulation, validated before anything is written."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.simulate._calendar import Calendar


class SimulationError(RuntimeError):
    """The simulation cannot run as asked (the message says what to change); nothing was half-written."""


class SimulationConfig(BaseModel):
    """What to simulate and where to write it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(description="Seed of every random draw; the same seed gives byte-identical output.")
    students: int = Field(ge=9, le=500_000, description="Students across the nine partners (the alliance has ~120,000).")
    out: Path = Field(description="Folder to write the simulated alliance into (created; must be empty unless force).")
    bad_share: float = Field(0.02, ge=0.0, le=0.5, description="Share of bad deliveries per source (malformed, unknown grade, ...).")
    year: str = Field("2025/2026", description="Academic year simulated, YYYY/YYYY.")
    mobility_share: float = Field(0.04, ge=0.0, le=0.5, description="Share of students on mobility to another partner this year.")
    force: bool = Field(False, description="Replace the simulation already in `out`.")

    @field_validator("year")
    @classmethod
    def _year(cls, value: str) -> str:
        Calendar(value)
        return value
