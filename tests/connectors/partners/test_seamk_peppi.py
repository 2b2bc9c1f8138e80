"""SeAMK Peppi connector on the served simulation: the standard suite, counts and hub events."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from connectors.partners.seamk_peppi import SeamkPeppi, term_id
from tests.connectors.partners.http_alliance import SimulatedSuite


class TestSeamkPeppi(SimulatedSuite):
    connector_class = SeamkPeppi
    source = "seamk.fi/sis"
    bad_kinds: ClassVar[dict[str, str]] = {"unknown_grade_label": "unknown_grade"}

    def prepare(self, tmp_path: Path) -> dict[str, Any]:
        return {"api_url": self.alliance.urls["seamk.fi"] + "/peppi/api/v1", "page_size": 40, "poll_interval": 0.1}


def test_peppi_terms() -> None:
    assert term_id("2025-2026 syksy") == "2025/2026-1"
    assert term_id("2025-2026 kevät") == "2025/2026-2"
