"""VIKO's webhook connector: the simulator's posts replayed over HTTP into the connector's spool."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from connectors.partners.viko_webhook import VikoWebhook
from hub.simulate import push_webhooks
from tests.connectors.partners.simulated import (
    SimulatedSuite,
    assert_matches_simulation,
    counts,
    outcomes,
    reasons,
)

HEI = "viko.lt"
TOKEN = "simulated-viko-webhook-token"
KINDS = {"broken_json": "parse", "wrong_encoding": "parse", "unknown_grade_label": "unknown_grade",
         "unknown_course": "unknown_course", "unknown_institution": "unknown_institution"}


def _settings(alliance: Path, tmp_path: Path) -> dict[str, object]:
    return {"token": TOKEN, "port": 0, "spool_file": tmp_path / "spool.sqlite",
            "courses_file": alliance / HEI / "courses.json", "poll_interval": 0.05}


def _pushed(alliance: Path, tmp_path: Path, bodies: list[bytes] | None = None) -> dict[str, object]:
    """Settings of a connector whose spool holds what was POSTed to it (every simulated post by default)."""
    settings = _settings(alliance, tmp_path)
    conn = VikoWebhook(**settings)
    [hook] = conn.sources(conn.settings)
    hook.open()
    try:
        if bodies is None:
            report = push_webhooks(alliance, hook.url, TOKEN)
            assert report.statuses[202] + report.statuses[400] == report.posted  # 400: not JSON, spooled as bad
        else:
            for body in bodies:
                answer = httpx.post(hook.url, content=body, headers={"Authorization": f"Bearer {TOKEN}"})
                assert answer.status_code == 202
    finally:
        hook.close()
    return settings


@pytest.fixture(scope="module")
def spool(native_alliance: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spool holding every simulated post, filled once over HTTP (tests read copies of it)."""
    return Path(str(_pushed(native_alliance, tmp_path_factory.mktemp("viko"))["spool_file"]))


def _copied(spool: Path, alliance: Path, tmp_path: Path) -> dict[str, object]:
    settings = _settings(alliance, tmp_path)
    for part in spool.parent.glob(spool.name + "*"):  # the database and its write-ahead log
        shutil.copy(part, tmp_path / part.name)
    return settings


class TestVikoWebhook(SimulatedSuite):
    connector_class = VikoWebhook

    @pytest.fixture(autouse=True)
    def _spool(self, spool: Path) -> None:
        self.spool = spool

    def prepare(self, tmp_path: Path) -> dict[str, object]:
        return _copied(self.spool, self.alliance, tmp_path)


def test_good_and_bad_records_are_the_simulators(spool: Path, native_alliance: Path, tmp_path: Path) -> None:
    results = outcomes(VikoWebhook(**_copied(spool, native_alliance, tmp_path)), tmp_path)
    assert_matches_simulation(results, native_alliance, HEI)
    expected: dict[str, int] = {}
    for kind, n in counts(native_alliance, HEI)["bad_by_kind"].items():
        expected[KINDS[kind]] = expected.get(KINDS[kind], 0) + n
    assert reasons(results) == expected


def test_a_retried_post_keeps_its_event_id_and_a_wrong_institution_is_rejected(native_alliance: Path,
                                                                              tmp_path: Path) -> None:
    good = {json.loads(x)["event_id"] for x in (native_alliance / "hub-events.jsonl").read_bytes().splitlines()}
    lines = (native_alliance / HEI / "webhooks.jsonl").read_bytes().splitlines()
    first = next(json.loads(x) for x in lines if b'"grade.recorded"' in x and x.split(b'"')[3].decode() in good)
    retried = {**first, "sent_at": "2026-09-30T12:00:00.000Z"}
    foreign = {**first, "id": "0b6c6a9e-0000-4000-8000-000000000001", "institution": "vilniustech.lt"}
    results = outcomes(VikoWebhook(**_pushed(native_alliance, tmp_path, [json.dumps(b).encode() for b in
                                                                        (first, retried, foreign)])), tmp_path)
    ids = [out.event.event_id for _, _, o in results for out in o.outputs]
    assert len(ids) == 2 and ids[0] == ids[1]
    [letter] = [o.dead_letter.event for _, _, o in results if o.dead_letter is not None]
    assert letter.error_kind == "unknown_institution" and "'vilniustech.lt' is not a HEROES partner" in letter.reason


def test_the_spool_keeps_published_events_as_the_settings_say(native_alliance, tmp_path):
    conn = VikoWebhook(**{**_settings(native_alliance, tmp_path), "keep_published_days": 0.5, "keep_published_bytes": 4096})
    [hook] = conn.sources(conn.settings)
    assert (hook.keep_published_days, hook.keep_published_bytes) == (0.5, 4096)
    with pytest.raises(Exception, match="keep_published_days"):
        VikoWebhook(**{**_settings(native_alliance, tmp_path), "keep_published_days": -1})
