"""One small simulated alliance per session: the recorded native input of every partner connector test."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.simulate import SimulationConfig, simulate

# A high share of bad records, so every kind of bad record of every partner occurs.
ALLIANCE = {"seed": 11, "students": 120, "bad_share": 0.08}


@pytest.fixture(scope="session")
def native_alliance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alliance") / "sim"
    simulate(SimulationConfig(out=out, **ALLIANCE))
    return out
