"""Registrars: a decision published with `hub ledger decide` flows back through the streams into the ledger; the CLI reads it."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from bench.alliance import alliance, expected_decisions

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_an_approved_review_item_becomes_manually_recognised_and_the_cli_shows_and_exports_it(pipeline, monkeypatch, guarantee, request):
    from hub.commands.ledger import ledger as ledger_cli
    from streams.ledger.registrar import publish_registrar_decision

    if guarantee == "exactly_once":
        request.getfixturevalue("apache_kafka")  # transactions: Apache Kafka only
    p = pipeline(workers=1, processing_guarantee=guarantee)
    events = alliance(60, seed=61)
    expected = expected_decisions(events)
    p.publish(events)
    assert p.wait_for(expected) == expected
    item = next(r for r in p.ledger.items(status="NEEDS_REVIEW"))
    settings = SimpleNamespace(bootstrap_servers=p.cfg.bootstrap_servers, schema_registry_url=p.cfg.registry_url)
    publish_registrar_decision(p.ledger, settings, item["decision_id"], approve=True, reason="portfolio checked",
                               registrar="registrar-1", topic_prefix=p.cfg.topic_prefix)
    deadline = time.monotonic() + 60
    row = None
    while time.monotonic() < deadline:
        row = next(r for r in p.ledger.items() if (r["omobility_id"], r["home_component"]) == (item["omobility_id"], item["home_component"]))
        if row["status"] == "MANUALLY_RECOGNISED":
            break
        time.sleep(0.5)
    assert row["status"] == "MANUALLY_RECOGNISED" and row["decided_by"] == "registrar-1" and row["ects"] > 0
    assert row["version"] == item["version"] + 1

    monkeypatch.setenv("HUB_LEDGER_URL", p.cfg.ledger_url)
    runner = CliRunner()
    listed = runner.invoke(ledger_cli, ["list", "--hei", item["home_hei"], "--status", "MANUALLY_RECOGNISED"])
    assert listed.exit_code == 0 and row["decision_id"] in listed.output
    shown = runner.invoke(ledger_cli, ["show", item["omobility_id"], "--json"])
    history = [h for h in json.loads(shown.output)["history"] if h["home_component"] == item["home_component"]]
    assert [h["status"] for h in history][-2:] == ["NEEDS_REVIEW", "MANUALLY_RECOGNISED"]
    assert history[-1]["provenance"]["la_version"] >= 1
    exported = runner.invoke(ledger_cli, ["export", "--hei", item["home_hei"], "--format", "csv"])
    assert exported.exit_code == 0 and item["omobility_id"] in exported.output and "student_esi" in exported.output.splitlines()[0]
    refused = runner.invoke(ledger_cli, ["decide", "no-such-id", "--approve", "--reason", "x"])
    assert refused.exit_code != 0 and "hub ledger list" in refused.output
