"""Integration: ``hub decide`` over hub-events.jsonl reaches exactly the simulator's expected decisions.

The expectations come from what the simulator generated, never from the recognition code; this
test is where the two meet, as the benchmarks and end-to-end tests will compare the ledger.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from hub.cli import main


def test_hub_decide_agrees_with_the_expected_decisions(sim):
    result = CliRunner().invoke(main, ["decide", str(sim.root / "hub-events.jsonl"), "--tables", str(sim.root / "tables")])
    assert result.exit_code == 0, result.output[-2000:]
    latest: dict[tuple[str, str], dict] = {}
    for line in result.output.splitlines():
        if not line.startswith("{"):
            continue
        d = json.loads(line)
        key = (d["omobility_id"], d["home_component"])
        if key not in latest or d["version"] >= latest[key]["version"]:
            latest[key] = d
    expected = {(d["omobility_id"], d["home_component"]): d for d in sim.jsonl("expected/decisions.jsonl")}
    assert set(latest) == set(expected)
    for key, e in expected.items():
        got = latest[key]
        assert got["status"] == e["status"], (key, e["reason"], got["reason"])
        if e["status"] == "AUTO_RECOGNISED":
            assert float(got["ects"]) == e["ects"], key
