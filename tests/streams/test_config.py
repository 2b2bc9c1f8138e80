"""The stream workers' knobs: HUB_STREAMS_* first, then the [streams] table of hub.toml, each checked."""

from __future__ import annotations

from dataclasses import replace

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


def test_exactly_once_runs_one_worker_and_refuses_more(tmp_path, monkeypatch):
    from streams.config import StreamsConfig
    from streams.supervisor import Supervisor

    monkeypatch.setenv("HUB_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("HUB_STREAMS_WORKERS", raising=False)
    monkeypatch.setenv("HUB_STREAMS_PROCESSING_GUARANTEE", "exactly_once")
    assert load_streams_settings().workers == 1
    monkeypatch.setenv("HUB_STREAMS_WORKERS", "2")
    with pytest.raises(ConfigError, match="exactly_once runs with one worker, not 2.*at_least_once"):
        load_streams_settings()
    cfg = StreamsConfig(bootstrap_servers="127.0.0.1:9", registry_url="http://127.0.0.1:9", data_dir=tmp_path,
                        processing_guarantee="exactly_once")
    with pytest.raises(ConfigError, match="one worker"):
        Supervisor(cfg, 2, ledger=False)
    assert Supervisor(cfg, 1, ledger=False).children.keys() == {"w1", "n1", "r1"}  # the faust worker (registrar), the two stages
    assert Supervisor(replace(cfg, recognise="faust"), 1, ledger=False).children.keys() == {"w1", "n1"}  # recognise in faust
