"""Access control, table-driven: every endpoint × every role (and nobody), for the API and the pages.

The API is called with bearer tokens, the pages with a signed-in session and its
CSRF token.  A registrar asking for another institution's student gets 404,
never the data; roles without the right get 403; nobody signed in gets 401
(API) or a redirect to the sign-in page.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.web.site import ACCOUNTS, HH_COMPONENT, HH_MOBILITY, HH_STUDENT

pytestmark = pytest.mark.kafka

ROLES = [None, *ACCOUNTS]  # None = not signed in
ITEM = f"{quote(HH_MOBILITY)}/{quote(HH_COMPONENT)}"
DECIDE = {"action": "APPROVE", "reason": "table-driven access test", "items": [{"omobility_id": HH_MOBILITY, "home_component": HH_COMPONENT}]}

#            method, path, json body,                 anon, reg-hh, reg-fontys, io-hh, alliance1, admin1
API = [
    ("GET", "/api/me", None,                          401, 200, 200, 200, 200, 200),
    ("GET", "/api/decisions", None,                   401, 200, 200, 403, 403, 200),
    ("GET", "/api/decisions?hei=hh.se", None,         401, 200, 404, 403, 403, 200),
    ("GET", f"/api/decisions/{ITEM}", None,           401, 200, 404, 403, 403, 200),
    ("GET", "/api/decisions/om-nope/X", None,         401, 404, 404, 403, 403, 404),
    ("POST", "/api/decide", DECIDE,                   401, 202, 404, 403, 403, 403),
    ("GET", "/api/students", None,                    401, 200, 200, 200, 403, 200),
    ("GET", "/api/students?hei=hh.se", None,          401, 200, 404, 200, 403, 200),
    ("GET", "/api/monitor", None,                     401, 200, 200, 200, 200, 200),
    ("GET", "/api/ops", None,                         401, 200, 200, 200, 200, 200),
    ("GET", "/api/dead-letters/0-0", None,            401, 403, 403, 403, 403, 404),
    ("GET", "/api/export?format=csv", None,           401, 200, 200, 403, 403, 422),
    ("GET", "/api/export?format=json&hei=hh.se", None, 401, 200, 404, 403, 403, 200),
    ("GET", "/metrics", None,                         200, 200, 200, 200, 200, 200),
    ("GET", "/healthz", None,                         200, 200, 200, 200, 200, 200),
    ("GET", "/api/openapi.json", None,                200, 200, 200, 200, 200, 200),
    ("GET", "/api/docs", None,                        200, 200, 200, 200, 200, 200),
]

#            method, path, form (csrf added),          anon, reg-hh, reg-fontys, io-hh, alliance1, admin1
PAGES = [
    ("GET", "/", None,                                303, 303, 303, 303, 303, 303),
    ("GET", "/inbox", None,                           303, 200, 200, 403, 403, 200),
    ("GET", "/inbox?hei=hh.se", None,                 303, 200, 404, 403, 403, 200),
    ("GET", f"/decisions/{ITEM}", None,               303, 200, 404, 403, 403, 200),
    ("GET", "/students", None,                        303, 200, 200, 200, 403, 200),
    ("GET", "/monitor", None,                         303, 200, 200, 200, 200, 200),
    ("GET", "/dead-letters/0-0", None,                303, 403, 403, 403, 403, 404),
    ("POST", f"/decisions/{ITEM}", {"action": "APPROVE", "reason": "page access test"},
                                                      303, 303, 404, 403, 403, 403),
    ("POST", "/inbox/decide", {"action": "REJECT", "reason": "page access test", "items": json.dumps([HH_MOBILITY, HH_COMPONENT, ""])},
                                                      303, 303, 404, 403, 403, 403),
]


def _cases(table):
    for method, path, body, *expected in table:
        for role, status in zip(ROLES, expected, strict=True):
            yield pytest.param(method, path, body, role, status, id=f"{method} {path} as {role or 'nobody'}")


@pytest.mark.parametrize(("method", "path", "body", "role", "status"), list(_cases(API)))
def test_api(kafka_site, method, path, body, role, status):
    with kafka_site.api(role) as client:
        answer = client.request(method, path, json=body)
    assert answer.status_code == status, answer.text[:300]
    if status == 200 and role == "reg-fontys" and path.startswith("/api/"):
        assert HH_STUDENT not in answer.text and HH_MOBILITY not in answer.text


@pytest.mark.parametrize(("method", "path", "body", "role", "status"), list(_cases(PAGES)))
def test_pages(kafka_site, method, path, body, role, status):
    client, csrf = kafka_site.browser(role)
    try:
        data = {**body, "csrf_token": csrf} if body is not None else None
        answer = client.request(method, path, data=data)
    finally:
        client.close()
    assert answer.status_code == status, answer.text[:300]
    if status == 303 and role is None:
        assert answer.headers["location"].startswith("/login")
    if role == "reg-fontys":
        assert HH_STUDENT not in answer.text


def test_a_registrar_sees_only_home_students(kafka_site):
    with kafka_site.api("reg-fontys") as fontys, kafka_site.api("reg-hh") as hh:
        theirs = fontys.get("/api/decisions", params={"limit": 1000}).json()
        ours = hh.get("/api/decisions", params={"limit": 1000}).json()
        searched = fontys.get("/api/decisions", params={"q": HH_STUDENT}).json()
    assert theirs["total"] > 0 and ours["total"] > 0
    assert {i["home_hei"] for i in theirs["items"]} == {"fontys.nl"}
    assert {i["home_hei"] for i in ours["items"]} == {"hh.se"}
    assert searched["total"] == 0


def test_alliance_monitor_names_no_mobility(kafka_site):
    with kafka_site.api("alliance1") as alliance, kafka_site.api("admin1") as admin:
        seen = alliance.get("/api/monitor").json()
        full = admin.get("/api/monitor").json()
    assert seen["deadlines"] and all(d["omobility_id"] is None for d in seen["deadlines"])
    assert all(d["omobility_id"] for d in full["deadlines"])
    assert "esi" not in json.dumps(seen)
