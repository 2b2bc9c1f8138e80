"""The standard connector suite applied to the example CSV connector (real files in a temp folder)."""

from __future__ import annotations

import shutil
from pathlib import Path

from connectors.partners.example_csv import ExampleCsv
from connectors.sdk.testing import ConnectorTestSuite

DATA = Path(__file__).parent / "data" / "primuss"


class TestExampleCsv(ConnectorTestSuite):
    connector_class = ExampleCsv
    expected_events = 5
    expected_dead_letters = 3

    def prepare(self, tmp_path: Path) -> dict[str, object]:
        shutil.copytree(DATA, tmp_path / "in")
        return {"folder": tmp_path / "in", "poll_interval": 0.1}
