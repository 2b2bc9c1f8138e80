"""The EWP mobility connector on the served simulation: the standard suite for three partners, and for every
partner the counts and the Mobility events equal to the simulator's own hub events."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from connectors.partners._ewp import course_reader
from connectors.partners.ewp_mobility import CONNECTORS, EwpFontys, EwpHh, EwpMendelu
from connectors.sdk import Connector, ConnectorRunner, CursorStore, MemoryPublisher
from hub.simulate import PATHS
from tests.connectors.partners.http_alliance import SimulatedSuite, alliance


def courses(hei: str, folder: Path, url: str) -> str:
    """Where each partner's SIS lists its courses: the location its connector's ``course_isced`` reads."""
    return {"thomasmore.be": url + PATHS["thomasmore.be"][0].rsplit("/", 1)[0], "fontys.nl": url, "hh.se": url,
            "seamk.fi": url + "/peppi/api/v1", "ucn.dk": f"sqlite:///{folder / 'ucn.dk' / 'esas.sqlite'}",
            "ipbeja.pt": f"sqlite:///{folder / 'ipbeja.pt' / 'netpa.sqlite'}",
            "th-deg.de": str(folder / "th-deg.de" / "Pruefungen.csv"),
            "mendelu.cz": str(folder / "mendelu.cz" / "predmety.xml"),
            "viko.lt": str(folder / "viko.lt" / "courses.json")}[hei]


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
                "ewp_courses_url": courses(hei, self.alliance.folder, urls[hei]), "ewp_poll_interval": 0.1}


class TestEwpFontys(EwpSuite):
    connector_class = EwpFontys  # LA changes, a cancellation, a ToR as receiving HEI


class TestEwpHh(EwpSuite):
    connector_class = EwpHh


class TestEwpMendelu(EwpSuite):
    connector_class = EwpMendelu  # a partner whose course list is a file, a broken document


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


@pytest.mark.parametrize("hei", list(CONNECTORS))
def test_every_partner_offers_its_course_fields(hei: str) -> None:
    assert course_reader(hei) is not None


def test_without_a_course_list_table_b_has_no_isced_fields(tmp_path: Path) -> None:
    suite = TestEwpFontys()
    suite.alliance = alliance()
    connector = EwpFontys(**{**suite.prepare(tmp_path), "ewp_courses_url": None})
    runner = ConnectorRunner(connector, MemoryPublisher(), CursorStore(tmp_path / "c.sqlite"))
    las = [o.event.learning_agreement for _, _, oc in runner.outcomes(cursors={"las": None}) for o in oc.outputs
           if o.event.learning_agreement]
    assert las and all(c.isced_code is None for la in las for c in la.components_recognized)
