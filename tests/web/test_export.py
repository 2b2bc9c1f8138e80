"""The web app's SIS export is the same as ``hub ledger export`` for the same ledger, in both formats."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hub.cli import main


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize(("who", "hei"), [("reg-hh", "hh.se"), ("reg-fontys", "fontys.nl")])
def test_export_equals_hub_ledger_export(site, monkeypatch, fmt, who, hei):
    monkeypatch.setenv("HUB_LEDGER_URL", site.ledger.url)
    cli = CliRunner().invoke(main, ["ledger", "export", "--hei", hei, "--format", fmt])
    assert cli.exit_code == 0, cli.output
    with site.api(who) as api:
        answer = api.get("/api/export", params={"format": fmt})
    assert answer.status_code == 200
    assert answer.text == cli.output
    assert answer.text.count("\n") > 3 and hei in answer.text
    assert f'filename="recognitions-{hei}.{fmt}"' in answer.headers["content-disposition"]
