"""Thomas More SAP OData connector on the served simulation: the standard suite, counts and hub events."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from connectors.partners.thomasmore_odata import ThomasMoreOdata
from hub.simulate import PATHS
from tests.connectors.partners.http_alliance import SimulatedSuite

SERVICE = PATHS["thomasmore.be"][0].rsplit("/", 1)[0]  # the OData service root, without an entity set


class TestThomasMoreOdata(SimulatedSuite):
    connector_class = ThomasMoreOdata
    source = "thomasmore.be/sis"
    bad_kinds: ClassVar[dict[str, str]] = {"unknown_grade_label": "unknown_grade"}

    def prepare(self, tmp_path: Path) -> dict[str, Any]:
        return {"service_url": self.alliance.urls["thomasmore.be"] + SERVICE, "page_size": 70, "poll_interval": 0.1}
