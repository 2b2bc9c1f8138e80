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


REDELIVERED = "00123458;BW-1204;2,0;7,5;15.07.2025;1;korrigiert\r\n"


class TestExampleCsvWithARedelivery(ConnectorTestSuite):
    """The recorded input holds one row twice (the SIS exported it again the next day): legitimate, not a failure."""

    connector_class = ExampleCsv
    expected_events = 6
    expected_dead_letters = 3

    def prepare(self, tmp_path: Path) -> dict[str, object]:
        shutil.copytree(DATA, tmp_path / "in")
        head = (DATA / "grades-2025-07.csv").read_bytes().split(b"\r\n")[0] + b"\r\n"
        (tmp_path / "in" / "grades-2025-08.csv").write_bytes(head + REDELIVERED.encode("cp1252"))
        return {"folder": tmp_path / "in", "poll_interval": 0.1}

    def test_the_redelivered_row_keeps_its_event_id(self, runner) -> None:
        ids = {}
        for _, item, outcome in self._outcomes(runner):
            for out in outcome.outputs:
                ids.setdefault(out.event.student_id, []).append(out.event.event_id)
        assert len(ids["00123458"]) == 2 and len(set(ids["00123458"])) == 1
        assert len({i for v in ids.values() for i in v}) == 5
