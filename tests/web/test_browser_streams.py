"""The whole loop with the real stream processors: a simulated alliance published to the partners' topics, a faust
worker and the ledger writer (``streams.supervisor``) fill the ledger (LA versions from ``hub.mobilities`` included), a
registrar approves in Chromium, and the approval comes back through Kafka, the registrar router, the recogniser and
the ledger writer onto the page.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from tests.web.site import start_site
from tests.web.test_browser import _sign_in, chromium  # noqa: F401  (the module's Chromium fixture)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
STUDENTS = 300


@pytest.fixture(scope="module")
def live_hub(tmp_path_factory, broker, session_registry):
    supervisor_mod = pytest.importorskip("streams.supervisor", reason="the stream processors (streams/supervisor.py) are not installed yet")
    from bench.alliance import alliance, publish
    from streams.app import ensure_streams_topics
    from streams.config import StreamsConfig
    from streams.ledger import Ledger

    tmp = tmp_path_factory.mktemp("live-hub")
    tag = uuid.uuid4().hex[:8]
    cfg = StreamsConfig(bootstrap_servers=broker.bootstrap_servers, registry_url=session_registry.url, data_dir=tmp / "streams",
                        app_id=f"web-{tag}", topic_prefix=f"w{tag}.", ledger_url=f"sqlite:///{tmp / 'ledger.sqlite'}", session_timeout=6.0)
    ensure_streams_topics(cfg)
    supervisor = supervisor_mod.Supervisor(cfg, 1, ledger=True, loglevel="warning", keep_alive=True)
    supervisor.start()
    ledger = Ledger(cfg.ledger_url)
    site = None
    try:
        # in a thread: Playwright's sync API keeps an event loop running in this one, and publish() runs its own
        sender = ThreadPoolExecutor(1)
        sender.submit(publish, alliance(STUDENTS, seed=11), cfg.bootstrap_servers, cfg.registry_url, cfg.topic_prefix).result(timeout=300)
        sender.shutdown()
        deadline = time.monotonic() + 180
        review = []
        while time.monotonic() < deadline and not review:
            review = ledger.items(status="NEEDS_REVIEW")
            time.sleep(1)
        assert review, "the stream processors put no NEEDS_REVIEW decision into the ledger within 180 s"
        # the alliance is still flowing (a ToR may turn that item NOT_RECOGNISED): take one once the ledger stands still
        last, still_since = None, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - still_since < 4:
            now = ledger.totals()
            if now != last:
                last, still_since = now, time.monotonic()
            time.sleep(0.5)
        review = ledger.items(status="NEEDS_REVIEW")
        assert review, "no NEEDS_REVIEW decision is left once the stream processors are done"
        site = start_site(tmp, bootstrap_servers=cfg.bootstrap_servers, registry_url=cfg.registry_url, topic_prefix=cfg.topic_prefix, ledger=ledger)
        site.add_account("registrar-live", "registrar", review[0]["home_hei"])
        yield site, review[0]
    finally:
        if site is not None:
            site.running.stop()
        supervisor.stop()
        ledger.close()


def test_approval_travels_through_the_stream_processors(chromium, live_hub):  # noqa: F811
    site, item = live_hub
    las = site.ledger.learning_agreements(item["omobility_id"])
    assert las, "the ledger writer stored no LA version from hub.mobilities"
    page = _sign_in(chromium, site, "registrar-live")
    page.goto(f"{site.url}/decisions/{quote(item['omobility_id'])}/{quote(item['home_component'])}")
    assert page.inner_text("[data-testid=status]") == "needs review"
    assert page.inner_text("[data-testid=la-current-version]") == str(las[-1].version)
    assert page.locator("[data-testid=la-table-a] tbody tr").count() == len(las[-1].components_studied)
    page.fill("#decide-one textarea[name=reason]", "Checked with the host: recognised as agreed")
    page.click("#decide-one button[value=APPROVE]")
    page.wait_for_load_state()
    page.wait_for_selector("[data-testid=status]:has-text('manually recognised')", timeout=90_000)
    row = next(r for r in site.ledger.items(item["home_hei"]) if r["omobility_id"] == item["omobility_id"] and r["home_component"] == item["home_component"])
    assert row["status"] == "MANUALLY_RECOGNISED" and row["decided_by"] == "registrar-live"
    page.close()
