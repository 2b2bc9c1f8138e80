"""The stream workers' knobs: HUB_STREAMS_* first, then the [streams] table of hub.toml, each checked."""

from __future__ import annotations

import pytest

from streams.config import ConfigError, load_streams_settings


def test_the_streams_table_of_hub_toml_sets_the_knobs_and_the_environment_wins(tmp_path, monkeypatch):
    toml = tmp_path / "hub.toml"
    toml.write_text('partitions = 3\n[streams]\nworkers = 3\nstore = "rocksdb"\n', encoding="utf-8")
    monkeypatch.setenv("HUB_CONFIG", str(toml))
    monkeypatch.delenv("HUB_STREAMS_WORKERS", raising=False)
    assert (load_streams_settings().workers, load_streams_settings().store) == (3, "rocksdb")
    monkeypatch.setenv("HUB_STREAMS_WORKERS", "2")
    assert load_streams_settings().workers == 2


def test_an_invalid_knob_names_both_places_to_fix_it(tmp_path, monkeypatch):
    toml = tmp_path / "hub.toml"
    toml.write_text('[streams]\nworkers = 0\nstore = "paper"\n', encoding="utf-8")
    monkeypatch.setenv("HUB_CONFIG", str(toml))
    with pytest.raises(ConfigError) as err:
        load_streams_settings()
    assert "HUB_STREAMS_WORKERS" in str(err.value) and "[streams] workers" in str(err.value)
    assert "HUB_STREAMS_STORE" in str(err.value)
