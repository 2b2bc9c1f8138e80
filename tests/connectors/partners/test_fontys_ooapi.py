"""Fontys OOAPI v5 connector on the served simulation: the standard suite, counts and hub events."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from connectors.partners.fontys_ooapi import FontysOoapi
from tests.connectors.partners.http_alliance import SimulatedSuite


class TestFontysOoapi(SimulatedSuite):
    connector_class = FontysOoapi
    source = "fontys.nl/sis"
    bad_kinds: ClassVar[dict[str, str]] = {"unknown_grade_label": "unknown_grade"}

    def prepare(self, tmp_path: Path) -> dict[str, Any]:
        return {"api_url": self.alliance.urls["fontys.nl"], "page_size": 50, "poll_interval": 0.1}
