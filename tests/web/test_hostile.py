"""Bad input answers a clear 4xx and stores nothing: unknown ids, forged CSRF, oversized bodies, hostile strings."""

from __future__ import annotations

import json
import time

import pytest
from kafka import KafkaConsumer, TopicPartition

from tests.web.site import HH_COMPONENT, HH_MOBILITY, HOSTILE_COMPONENT, HOSTILE_MOBILITY, HOSTILE_REASON

pytestmark = pytest.mark.kafka
ITEM = {"omobility_id": HH_MOBILITY, "home_component": HH_COMPONENT}


def _published(site, hei: str = "hh.se") -> int:
    """How many records the registrar topic of ``hei`` holds (the high watermark)."""
    topic = f"{site.prefix}registrar.{hei}.decisions"
    consumer = KafkaConsumer(bootstrap_servers=site.state.publisher.bootstrap_servers)
    try:
        tp = TopicPartition(topic, 0)
        return consumer.end_offsets([tp])[tp]
    finally:
        consumer.close()


@pytest.fixture
def nothing_published(kafka_site):
    before = _published(kafka_site)
    yield
    time.sleep(0.2)
    assert _published(kafka_site) == before, "a refused request published a registrar decision"


def test_forged_csrf_is_refused_and_nothing_sent(kafka_site, nothing_published):
    client, csrf = kafka_site.browser("reg-hh")
    with client:
        forged = client.post(f"/decisions/{HH_MOBILITY}/{HH_COMPONENT}", data={"csrf_token": csrf[:-2] + "xx", "action": "APPROVE", "reason": "ok"})
        missing = client.post("/inbox/decide", data={"action": "APPROVE", "reason": "ok", "items": json.dumps([HH_MOBILITY, HH_COMPONENT, ""])})
        api_without = client.post("/api/decide", json={"action": "APPROVE", "reason": "ok", "items": [ITEM]})
        other_session = client.post("/api/decide", json={"action": "APPROVE", "reason": "ok", "items": [ITEM]},
                                    headers={"X-CSRF-Token": kafka_site.browser("reg-fontys")[1]})
        logout = client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == missing.status_code == api_without.status_code == other_session.status_code == 403
    assert "security token" in forged.text
    assert logout.status_code == 403


def test_unknown_ids_answer_404(kafka_site, nothing_published):
    with kafka_site.api("reg-hh") as api:
        assert api.get("/api/decisions/om-unknown/DT4001").status_code == 404
        assert api.get(f"/api/decisions/{HH_MOBILITY}/NOPE").status_code == 404
        assert api.get("/api/decisions/%00%ff/..%2F..%2Fetc").status_code == 404
        answer = api.post("/api/decide", json={"action": "APPROVE", "reason": "x", "items": [ITEM, {"omobility_id": "om-unknown", "home_component": "X"}]})
        assert answer.status_code == 404  # all or nothing: the known item is not sent either
        assert api.get("/api/dead-letters/999-999").status_code == 403


@pytest.mark.parametrize("body", [
    {"action": "APPROVE", "reason": "", "items": [ITEM]},
    {"action": "APPROVE", "reason": "   \x00\x01  ", "items": [ITEM]},
    {"action": "APPROVE", "reason": "x" * 1001, "items": [ITEM]},
    {"action": "DELETE", "reason": "x", "items": [ITEM]},
    {"action": "APPROVE", "reason": "x", "items": []},
    {"action": "APPROVE", "reason": "x", "items": [ITEM] * 501},
    {"action": "APPROVE", "reason": "x", "items": [{"omobility_id": HH_MOBILITY}]},
    {"action": "APPROVE", "reason": "x", "items": "all"},
])
def test_invalid_decisions_answer_422(kafka_site, nothing_published, body):
    with kafka_site.api("reg-hh") as api:
        answer = api.post("/api/decide", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]


def test_not_reviewable_answers_409(kafka_site, nothing_published):
    with kafka_site.api("reg-hh") as api:
        auto = api.get("/api/decisions", params={"status": "AUTO_RECOGNISED", "limit": 1}).json()["items"][0]
        answer = api.post("/api/decide", json={"action": "APPROVE", "reason": "x", "items": [
            {"omobility_id": auto["omobility_id"], "home_component": auto["home_component"]}]})
        stale = api.post("/api/decide", json={"action": "APPROVE", "reason": "x", "items": [{**ITEM, "decision_id": "an-older-version"}]})
    assert answer.status_code == 409 and "registrars decide NEEDS_REVIEW" in answer.json()["detail"]
    assert stale.status_code == 409 and "changed since" in stale.json()["detail"]


def test_oversized_bodies_answer_413(kafka_site, nothing_published):
    client, csrf = kafka_site.browser("reg-hh")
    with client, kafka_site.api("reg-hh") as api:
        huge = api.post("/api/decide", content=b'{"action":"APPROVE","reason":"' + b"x" * 200_000 + b'","items":[]}',
                        headers={"content-type": "application/json"})
        form = client.post(f"/decisions/{HH_MOBILITY}/{HH_COMPONENT}", data={"csrf_token": csrf, "action": "APPROVE", "reason": "y" * 100_000})

        def chunks():
            for _ in range(100):
                yield b"z" * 1024

        streamed = api.post("/api/decide", content=chunks(), headers={"content-type": "application/json"})
    assert huge.status_code == form.status_code == streamed.status_code == 413
    assert "larger than" in huge.json()["detail"]


def test_hostile_strings_are_shown_as_text(kafka_site):
    """A reason full of markup (from a partner's data) is escaped on the page and returned verbatim by the API."""
    client, _ = kafka_site.browser("reg-fontys")
    with client, kafka_site.api("reg-fontys") as api:
        page = client.get(f"/decisions/{HOSTILE_MOBILITY}/{HOSTILE_COMPONENT}")
        data = api.get(f"/api/decisions/{HOSTILE_MOBILITY}/{HOSTILE_COMPONENT}").json()
        search = client.get("/inbox", params={"q": "<script>alert(1)</script>"})
    assert page.status_code == 200
    assert "<script>window.__pwned" not in page.text and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text
    assert data["current"]["reason"] == HOSTILE_REASON
    assert search.status_code == 200 and "<script>alert(1)</script>" not in search.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_hostile_reason_from_a_registrar_is_sent_verbatim(kafka_site):
    """The reason a registrar types goes to Kafka as typed (control characters dropped); the page escapes it later."""
    before = _published(kafka_site)
    with kafka_site.api("reg-hh") as api:
        answer = api.post("/api/decide", json={"action": "REJECT", "reason": "<b>no</b>\x07 thesis", "items": [ITEM]})
    assert answer.status_code == 202, answer.text
    assert _published(kafka_site) == before + 1
    with kafka_site.api("reg-hh") as api:
        detail = api.get(f"/api/decisions/{HH_MOBILITY}/{HH_COMPONENT}").json()
    assert detail["pending"]["action"] == "REJECT"


def test_sign_in_failures(kafka_site):
    client, _ = kafka_site.browser(None)
    with client:
        form = client.get("/login")
        token = form.cookies.get("hub_login") or client.cookies.get("hub_login")
        wrong = client.post("/login", data={"name": "reg-hh", "password": "not it", "login_csrf": token})
        no_token = client.post("/login", data={"name": "reg-hh", "password": kafka_site.passwords["reg-hh"], "login_csrf": "guess"})
        away = client.post("/login", data={"name": "reg-hh", "password": kafka_site.passwords["reg-hh"],
                                           "login_csrf": client.cookies.get("hub_login"), "next": "//evil.example/x"})
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    assert no_token.status_code == 403
    assert away.status_code == 303 and away.headers["location"] == "/"
    set_cookie = away.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie
    with kafka_site.api(None) as api:
        bad = api.get("/api/me", headers={"Authorization": "Bearer hub_forged"})
        basic = api.get("/api/me", headers={"Authorization": "Basic cmVnOnB3"})
    assert bad.status_code == basic.status_code == 401


def test_many_at_once_publish_one_decision_each(kafka_site):
    """The inbox's bulk form: every chosen item gets its own RegistrarDecision, keyed by its mobility."""
    with kafka_site.api("reg-hh") as api:
        items = api.get("/api/decisions", params={"status": "NOT_RECOGNISED", "limit": 3}).json()["items"]
    assert len(items) == 3
    before = _published(kafka_site)
    client, csrf = kafka_site.browser("reg-hh")
    with client:
        chosen = [json.dumps([i["omobility_id"], i["home_component"], i["decision_id"]]) for i in items]
        answer = client.post("/inbox/decide", data={"csrf_token": csrf, "action": "REJECT", "reason": "no ToR result", "items": chosen})
        notice = client.get(answer.headers["location"])
    assert answer.status_code == 303 and answer.headers["location"] == "/inbox?sent=3"
    assert "3 decisions sent to the hub" in notice.text
    assert _published(kafka_site) == before + 3
    consumer = KafkaConsumer(bootstrap_servers=kafka_site.state.publisher.bootstrap_servers, auto_offset_reset="earliest")
    tp = TopicPartition(f"{kafka_site.prefix}registrar.hh.se.decisions", 0)
    consumer.assign([tp])
    consumer.seek(tp, before)
    records, deadline = [], time.monotonic() + 15
    while len(records) < 3 and time.monotonic() < deadline:
        records += [r for batch in consumer.poll(timeout_ms=1000).values() for r in batch]
    consumer.close()
    assert sorted(r.key.decode() for r in records) == sorted(i["omobility_id"] for i in items)
    assert all(dict(r.headers)["student_esi"].decode().startswith("urn:schac:personalUniqueCode:int:esi:hh.se:") for r in records)
