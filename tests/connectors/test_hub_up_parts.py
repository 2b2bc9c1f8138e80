"""The ``hub up`` parts of the simulated SIS and the connectors, one behaviour at a time."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.partners.ucn_esas import UcnEsas
from connectors.partners.viko_webhook import VikoWebhook
from hub.parts.connectors_part import ConnectorThread
from hub.parts.simulation_part import SimulationPart
from hub.runtime import RunContext
from hub.settings import load_settings


def _ctx(data_dir: Path, **options: Any) -> RunContext:
    return RunContext(settings=load_settings(data_dir=data_dir), data_dir=data_dir, options=options)


def test_the_simulation_is_generated_once_per_seed_and_size_and_served(tmp_path: Path) -> None:
    part = SimulationPart()
    line = part.start(_ctx(tmp_path, students=30, seed=3))
    try:
        sim = part._alliance
        assert sim is not None and sim.fresh and "generated" in line
        answer = httpx.get(sim.urls["ucn.dk"] + "/ewp/omobilities/index", params={"sending_hei_id": "ucn.dk"})
        assert answer.status_code == 200 and b"omobility" in answer.content.lower()
    finally:
        part.stop()
    again = SimulationPart()
    try:
        assert "reused" in again.start(_ctx(tmp_path, students=30, seed=3))
        assert again._alliance is not None and not again._alliance.fresh
    finally:
        again.stop()
    other = SimulationPart()
    try:
        assert "generated" in other.start(_ctx(tmp_path, students=30, seed=4))
    finally:
        other.stop()


def _wait(predicate: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.kafka
def test_a_connector_refused_for_good_stays_stopped_and_says_why(broker: Any, registry: Any, tmp_path: Path) -> None:
    empty = tmp_path / "esas.sqlite"
    sqlite3.connect(empty).close()  # a database without ESAS's views
    thread = ConnectorThread(UcnEsas, {"url": f"sqlite:///{empty}", "poll_interval": 0.1}, broker.bootstrap_servers,
                             registry.url, tmp_path / "ucn_esas.sqlite").start()
    try:
        _wait(lambda: thread.state.startswith("stopped"))
        assert "v_tilmelding" in thread.state or "v_bedoemmelse" in thread.state, thread.state
        assert not thread.thread.is_alive()  # not rebuilt again and again: a person must fix the table setting
    finally:
        thread.stop()


@pytest.mark.kafka
def test_a_listening_webhook_is_announced_and_stop_is_prompt(broker: Any, registry: Any, tmp_path: Path) -> None:
    (tmp_path / "courses.json").write_text("[]", encoding="utf-8")
    heard: list[tuple[str, str]] = []
    overrides = {"token": "t" * 20, "port": 0, "spool_file": tmp_path / "spool.sqlite",
                 "courses_file": tmp_path / "courses.json"}
    thread = ConnectorThread(VikoWebhook, overrides, broker.bootstrap_servers, registry.url, tmp_path / "viko.sqlite",
                             on_listening=lambda hei, url, o: heard.append((hei, url))).start()
    try:
        _wait(lambda: heard)
        [(hei, url)] = heard
        assert hei == "viko.lt"
        assert httpx.post(url, json={"id": "x", "type": "student.created"}, headers={"Authorization": "Bearer " + "t" * 20}
                          ).status_code == 202
    finally:
        t0 = time.monotonic()
        thread.stop()
        thread.join(30)
    assert not thread.thread.is_alive() and time.monotonic() - t0 < 15
    assert thread.state == "stopped"
