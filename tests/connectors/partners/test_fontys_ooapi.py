"""Fontys OOAPI v5 connector on the served simulation: the standard suite, counts and hub events."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from connectors.partners.fontys_ooapi import FontysOoapi
from connectors.sdk import ConnectorRunner, CursorStore, MemoryPublisher
from tests.connectors.partners.http_alliance import SimulatedSuite, alliance


class TestFontysOoapi(SimulatedSuite):
    connector_class = FontysOoapi
    source = "fontys.nl/sis"
    bad_kinds: ClassVar[dict[str, str]] = {"unknown_grade_label": "unknown_grade"}

    def prepare(self, tmp_path: Path) -> dict[str, Any]:
        return {"api_url": self.alliance.urls["fontys.nl"], "page_size": 50, "poll_interval": 0.1}


def test_resumes_inside_a_page_from_the_saved_position(tmp_path: Path) -> None:
    suite = TestFontysOoapi()
    suite.alliance = alliance()

    def read(cursor: Any, page_size: int) -> list[Any]:
        connector = FontysOoapi(**{**suite.prepare(tmp_path), "page_size": page_size})
        runner = ConnectorRunner(connector, MemoryPublisher(), CursorStore(tmp_path / f"{page_size}.sqlite"))
        return [item for _, item, _ in runner.outcomes(cursors={"associations": cursor})]

    everything = read(None, 50)
    assert [i.cursor for i in everything[:3]] == [{"position": 1}, {"position": 2}, {"position": 3}]
    resumed = read(everything[122].cursor, 40)  # another page size: the position still counts records
    assert [i.payload for i in resumed] == [i.payload for i in everything[123:]]
