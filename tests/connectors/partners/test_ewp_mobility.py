"""The EWP mobility connector on the served simulation: the standard suite for three partners, and for every
partner the counts and the Mobility events equal to the simulator's own hub events."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from connectors.partners.ewp_mobility import CONNECTORS, EwpFontys, EwpHh, EwpMendelu, course_reader
from connectors.sdk import Connector
from hub.simulate import PATHS
from tests.connectors.partners.http_alliance import SimulatedSuite, alliance

COURSES = {  # where each HTTP partner's SIS lists its courses (its connector's API URL below the base URL)
    "hh.se": "", "fontys.nl": "", "thomasmore.be": PATHS["thomasmore.be"][0].rsplit("/", 1)[0],
    "seamk.fi": "/peppi/api/v1",
}


class EwpSuite(SimulatedSuite):
    event_types: ClassVar[tuple[str, ...]] = ("Mobility",)
    bad_kinds: ClassVar[dict[str, str]] = {"broken_xml": "parse"}
    redelivers = False  # the simulator's duplicate Mobility lines are deliveries of one document, not two documents

    @property
    def source(self) -> str:  # type: ignore[override]
        return f"{self.connector_class.hei}/ewp"

    def prepare(self, tmp_path: Path) -> dict[str, Any]:
        hei, urls = self.connector_class.hei, self.alliance.urls
        return {"ewp_url": urls[hei] + "/ewp", "ewp_partners": {h: u + "/ewp" for h, u in urls.items()},
                "ewp_courses_url": urls[hei] + COURSES[hei] if hei in COURSES else None, "ewp_poll_interval": 0.1}

    def _strip(self, event: dict[str, Any]) -> dict[str, Any]:
        # Table B's ISCED fields come from the home SIS connector's course_isced(); partners whose connector
        # does not offer it yet get none (the recogniser then uses the mobility's field).
        la = event.get("learning_agreement")
        if la and course_reader(self.connector_class.hei) is None:
            la = {**la, "components_recognized": [{**c, "isced_code": None} for c in la["components_recognized"]]}
            event = {**event, "learning_agreement": la}
        return super()._strip(event)


class TestEwpFontys(EwpSuite):
    connector_class = EwpFontys  # LA changes, a cancellation, a ToR as receiving HEI


class TestEwpHh(EwpSuite):
    connector_class = EwpHh


class TestEwpMendelu(EwpSuite):
    connector_class = EwpMendelu  # a partner without course_isced yet, a broken document


@pytest.mark.parametrize("hei", list(CONNECTORS))
def test_every_partners_mobility_events_equal_the_simulation(hei: str, tmp_path: Path) -> None:
    suite = type(f"Every{CONNECTORS[hei].__name__}", (EwpSuite,), {"connector_class": CONNECTORS[hei]})()
    suite.alliance = alliance()
    suite.test_counts_equal_the_simulation(tmp_path)
    suite.test_events_equal_the_simulators_hub_events(tmp_path)


def test_the_simulation_has_every_mobility_case() -> None:
    """The events compared above include LA changes, recognition groups, conditions, cancellations and ToRs."""
    events = [e for hei in CONNECTORS for e in alliance().hub_events(hei, ("Mobility",))]
    assert {e["lifecycle"] for e in events} == {"NOMINATED", "LA_APPROVED", "LA_CHANGED", "STARTED", "ENDED",
                                                "TOR_ISSUED", "CANCELLED"}
    las = [e["learning_agreement"] for e in events if e["learning_agreement"]]
    assert any(la["recognition_groups"] for la in las)
    assert any(c["recognition_conditions"] for la in las for c in la["components_recognized"])
    assert any(c["isced_code"] for la in las for c in la["components_recognized"])


def test_one_connector_per_partner_each_with_its_own_name() -> None:
    assert len(CONNECTORS) == 9 and len({c.name for c in CONNECTORS.values()}) == 9
    assert all(issubclass(c, Connector) and c.settings_file and c.settings_file.name == "ewp_mobility.toml"
               for c in CONNECTORS.values())


@pytest.mark.parametrize("hei", ["hh.se", "fontys.nl", "thomasmore.be", "seamk.fi"])
def test_http_partners_offer_their_course_fields(hei: str) -> None:
    assert course_reader(hei) is not None
