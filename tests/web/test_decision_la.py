"""The decision page and its API explain the Learning Agreement: the current version, its Table A with the host
grades and Table B, and what changed since the version before; another institution still gets 404; PostgreSQL
gives the same as SQLite."""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from urllib.parse import quote

import pytest

from tests.web.site import HH_COMPONENT, HH_HOST_COURSE, HH_MOBILITY

PATH = f"/decisions/{quote(HH_MOBILITY)}/{quote(HH_COMPONENT)}"
PG_SERVER = "postgresql+psycopg2://postgres:postgres@127.0.0.1:5432"


def _section(html: str, testid: str) -> str:
    found = re.search(rf'<(table|ul)[^>]*data-testid="{testid}".*?</\1>', html, re.DOTALL)
    assert found, f"no {testid} on the page"
    return found.group(0)


def _rows(fragment: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r'<(?:tr|li)[^>]*data-code="([^"]+)"[^>]*>(.*?)</(?:tr|li)>', fragment, re.DOTALL)}


def test_decision_page_shows_the_current_la_its_tables_and_changes(site):
    client, _ = site.browser("reg-hh")
    with client:
        html = client.get(PATH).text
    assert re.search(r'data-testid="la-current-version">2<', html)
    assert "ch-hh-2" in html and "earlier: v1 of" in html
    table_a = _rows(_section(html, "la-table-a"))
    assert list(table_a) == [HH_HOST_COURSE, "H-NET2"]
    assert 'data-grade="B"' in table_a[HH_HOST_COURSE] and "passed" in table_a[HH_HOST_COURSE]  # the host grade the decision used
    assert "no result yet" in table_a["H-NET2"] and "Networks &lt;b&gt;2&lt;/b&gt;" in table_a["H-NET2"]  # shown as text
    table_b = _rows(_section(html, "la-table-b"))
    assert list(table_b) == [HH_COMPONENT] and "thesis must be defended at home" in table_b[HH_COMPONENT]
    changes = _section(html, "la-changes")
    found = {(m.group(1), m.group(2), m.group(3)) for m in re.finditer(r'data-change="(\w+)" data-table="(\w)" data-code="([^"]+)"', changes)}
    assert found == {("added", "A", "H-NET2"), ("removed", "A", "H-LAB1"), ("changed", "A", HH_HOST_COURSE), ("changed", "B", HH_COMPONENT)}
    thesis = _rows(changes)[HH_HOST_COURSE]
    assert "ECTS: 7.5 → 10" in thesis


def test_decision_api_carries_the_la_versions_and_changes(site):
    with site.api("reg-hh") as api:
        body = api.get(f"/api{PATH}").json()
    assert [la["version"] for la in body["learning_agreements"]] == [1, 2]
    assert body["learning_agreements"][-1]["components_recognized"][0]["recognition_conditions"] == "thesis must be defended at home"
    changed = {(c["table"], c["change"], c["course_code"]): c["fields"] for c in body["la_changes"]["components"]}
    assert changed[("A", "changed", HH_HOST_COURSE)] == ["ects"] and changed[("B", "changed", HH_COMPONENT)] == ["recognition_conditions"]
    assert body["host_grades"][HH_HOST_COURSE]["grade_label"] == "B"


def test_another_institution_gets_404_not_the_agreement(site):
    client, _ = site.browser("reg-fontys")
    with client:
        page = client.get(PATH)
    assert page.status_code == 404 and "Thesis project" not in page.text and "H-NET2" not in page.text
    with site.api("reg-fontys") as api:
        answer = api.get(f"/api{PATH}")
    assert answer.status_code == 404 and "learning_agreements" not in answer.text


@pytest.mark.postgres
def test_postgresql_explains_the_same_decision_as_sqlite(site):
    """The read model over a PostgreSQL ledger (a database of its own, dropped after) gives the same page data."""
    import sqlalchemy as sa

    from hub.web.ledger_model import LedgerReadModel
    from streams.ledger import Batch, Ledger
    from tests.conftest import require_service
    from tests.web.site import hand_made

    name = f"hub_web_{uuid.uuid4().hex[:10]}"
    try:
        admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as db:
            db.exec_driver_sql(f"CREATE DATABASE {name}")
    except Exception as exc:  # noqa: BLE001 - any failure to connect means the service is missing
        require_service("PostgreSQL on 127.0.0.1:5432 (bash deploy/dev-services start)", str(exc))
    try:
        pg = Ledger(f"{PG_SERVER}/{name}")
        pg.write(Batch.of(hand_made(), {}), "tests-web")
        on_pg = LedgerReadModel(pg).decision("hh.se", HH_MOBILITY, HH_COMPONENT)
        on_lite = LedgerReadModel(site.ledger).decision("hh.se", HH_MOBILITY, HH_COMPONENT)
        assert on_pg.agreements == on_lite.agreements and len(on_pg.agreements) == 2
        assert on_pg.changes == on_lite.changes and on_pg.host_grades == on_lite.host_grades
        assert on_pg.current == on_lite.current and on_pg.history == on_lite.history
        assert LedgerReadModel(pg).decision("fontys.nl", HH_MOBILITY, HH_COMPONENT) is None  # scope holds on PostgreSQL too
        pg.close()
    finally:
        with admin.connect() as db:
            db.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def test_the_group_that_decides_a_component_and_none_outside_table_b():
    from datetime import datetime
    from decimal import Decimal

    from hub.web.agreement import group_of, la_changes
    from schemas.models import LaComponent, LearningAgreement, RecognitionGroup

    a = [LaComponent(course_code=c, ects=Decimal(5)) for c in ("A1", "A2", "A3")]
    b = [LaComponent(course_code=c, ects=Decimal(5)) for c in ("B1", "B2")]
    when = datetime(2025, 1, 1, tzinfo=UTC)
    plain = LearningAgreement(version=1, approved_at=when, components_studied=a, components_recognized=b)
    grouped = plain.model_copy(update={"version": 2, "recognition_groups": (RecognitionGroup(group_id="g1", studied=("A1", "A2"), recognized=("B1",)),)})
    assert group_of(plain, "B2") == ("A1", "A2", "A3") and group_of(grouped, "B1") == ("A1", "A2")
    assert group_of(plain, "A1") == () and group_of(grouped, "GONE") == ()
    changes = la_changes(plain, grouped)
    assert changes.groups_changed and not changes.components and not changes.empty
    assert la_changes(plain, plain).empty
