"""``hub simulate`` teaches, writes and summarises; it refuses to overwrite what it did not write."""

from __future__ import annotations

import json

from click.testing import CliRunner

from hub.cli import main


def test_help_explains_the_output_layout():
    result = CliRunner().invoke(main, ["simulate", "--help"])
    assert result.exit_code == 0
    for words in ("--seed", "--students", "--bad-share", "--year", "hub-events.jsonl", "expected/", "byte-identical"):
        assert words in result.output


def test_generates_reports_and_refuses_a_non_empty_folder(tmp_path):
    out = tmp_path / "sim"
    runner = CliRunner()
    result = runner.invoke(main, ["simulate", "--seed", "3", "--students", "40", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Simulated alliance in" in result.output and "hub events" in result.output
    counts = json.loads((out / "expected" / "counts.json").read_text())
    assert counts["students"] == 40 and counts["seed"] == 3
    again = runner.invoke(main, ["simulate", "--seed", "3", "--students", "40", "--out", str(out)])
    assert again.exit_code == 2 and "--force" in again.output
    forced = runner.invoke(main, ["simulate", "--seed", "3", "--students", "40", "--out", str(out), "--force"])
    assert forced.exit_code == 0
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    refused = runner.invoke(main, ["simulate", "--seed", "3", "--students", "40", "--out", str(other), "--force"])
    assert refused.exit_code == 2 and (other / "notes.txt").exists()


def test_missing_seed_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["simulate", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "--seed" in result.output
