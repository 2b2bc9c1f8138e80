"""A running web app for tests: a real ledger (SQLite), real accounts, real HTTP on loopback, optionally real Kafka.

``Site`` holds the URL, the state, one account per role (and a second registrar),
their bearer tokens and helpers to sign in like a browser does.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from hub.web import build_state, serve_web
from hub.web.demo import decision_event, synthetic_alliance
from hub.web.ledger_model import LedgerReadModel
from schemas.institutions import esi
from schemas.models import (
    DecisionStatus,
    LaComponent,
    LearningAgreement,
    Mobility,
    MobilityLifecycle,
    MobilityState,
    MobilityStatus,
)
from streams.ledger.store import Batch, Ledger

# role accounts: name -> (role, institution)
ACCOUNTS = {
    "reg-hh": ("registrar", "hh.se"),
    "reg-fontys": ("registrar", "fontys.nl"),
    "io-hh": ("international-office", "hh.se"),
    "alliance1": ("alliance", None),
    "admin1": ("admin", None),
}

# one hand-made mobility of a Halmstad student at Fontys with a decision that needs review,
# and a Fontys student's mobility whose reason is hostile markup
HH_MOBILITY = "om-test-hh-1"
HH_STUDENT = esi("hh.se", "19990101")
HH_COMPONENT = "DT4001"
HOSTILE_MOBILITY = "om-test-fontys-1"
HOSTILE_COMPONENT = "INF-01"
HOSTILE_REASON = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2"> needs a look'
HH_HOST_COURSE = f"H-{HH_COMPONENT}"  # the host grade of the hand-made decisions is for this Table A course


def hh_agreements(when: datetime) -> list[Mobility]:
    """LA v1 and v2 of the hand-made Halmstad mobility: v2 adds a host course, drops one, changes ECTS and adds conditions."""
    thesis = LaComponent(course_code=HH_HOST_COURSE, title="Thesis project", ects=Decimal("7.5"), term_id="2025-S")
    lab = LaComponent(course_code="H-LAB1", title="Embedded lab", ects=Decimal(5))
    home = LaComponent(course_code=HH_COMPONENT, title="Degree project", ects=Decimal("7.5"))
    v1 = LearningAgreement(version=1, approved_at=when - timedelta(days=60), components_studied=(thesis, lab), components_recognized=(home,))
    v2 = LearningAgreement(version=2, changes_id="ch-hh-2", approved_at=when - timedelta(days=20),
                           components_studied=(thesis.model_copy(update={"ects": Decimal(10)}),
                                               LaComponent(course_code="H-NET2", title="Networks <b>2</b>", ects=Decimal(5))),
                           components_recognized=(home.model_copy(update={"recognition_conditions": "thesis must be defended at home"}),))
    common = dict(source_hei="hh.se", omobility_id=HH_MOBILITY, student_esi=HH_STUDENT, sending_hei="hh.se", receiving_hei="fontys.nl")
    return [Mobility(occurred_at=v.approved_at, lifecycle=MobilityLifecycle.LA_APPROVED if v.version == 1 else MobilityLifecycle.LA_CHANGED,
                     learning_agreement=v, **common) for v in (v1, v2)]


def hand_made() -> list:
    when = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
    first = decision_event(HH_MOBILITY, HH_STUDENT, "hh.se", "fontys.nl", HH_COMPONENT, 1, DecisionStatus.AUTO_RECOGNISED,
                           ects=Decimal("7.50"), la_version=1, when=when)
    second = decision_event(HH_MOBILITY, HH_STUDENT, "hh.se", "fontys.nl", HH_COMPONENT, 2, DecisionStatus.NEEDS_REVIEW,
                            ects=Decimal("7.50"), la_version=2, when=when.replace(day=3), supersedes=first.decision_id,
                            reason="DT4001 carries recognition conditions in LA v2 (thesis must be defended at home): a registrar decides")
    hostile = decision_event(HOSTILE_MOBILITY, esi("fontys.nl", "77"), "fontys.nl", "hh.se", HOSTILE_COMPONENT, 1, DecisionStatus.NEEDS_REVIEW,
                             when=when, reason=HOSTILE_REASON)
    status = MobilityStatus(source_hei="hh.se", occurred_at=when, omobility_id=HH_MOBILITY, student_esi=HH_STUDENT, sending_hei="hh.se",
                            receiving_hei="fontys.nl", state=MobilityState.TOR_ISSUED, la_version=2, ects_planned=Decimal(30),
                            ects_recognised=Decimal(0))
    return [first, second, hostile, status, *hh_agreements(when)]


def load_ledger(path: Path, mobilities: int = 120) -> Ledger:
    ledger = Ledger(f"sqlite:///{path / 'ledger.sqlite'}")
    ledger.write(Batch.of(synthetic_alliance(seed=7, mobilities=mobilities) + hand_made(), {}), "tests-web")
    return ledger


class _Browser(httpx.Client):
    """An httpx client that may be used in ``with`` after it has already sent requests (signing in)."""

    def __enter__(self):
        return self


@dataclass
class Site:
    url: str
    running: object
    ledger: Ledger
    passwords: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    _sessions: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def state(self):
        return self.running.state

    def add_account(self, name: str, role: str, hei: str | None) -> None:
        self.passwords[name] = secrets.token_urlsafe(16)
        self.state.accounts.add(name, role, hei, self.passwords[name])
        self.tokens[name] = self.state.accounts.issue_token(name, "tests")

    def api(self, who: str | None) -> httpx.Client:
        """A script's client: the account's bearer token (None = anonymous)."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=20, follow_redirects=False)

    def browser(self, who: str | None) -> tuple[httpx.Client, str]:
        """A browser-like client signed in through the form: (client with session cookie, CSRF token of the session).

        Each account signs in once per site; later calls reuse its session."""
        client = _Browser(base_url=self.url, timeout=20, follow_redirects=False)
        if who is None:
            return client, ""
        if who in self._sessions:
            sid, csrf = self._sessions[who]
            client.cookies.set("hub_session", sid)
            return client, csrf
        form = client.get("/login")
        login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', form.text).group(1)
        answer = client.post("/login", data={"name": who, "password": self.passwords[who], "login_csrf": login_csrf, "next": "/"})
        assert answer.status_code == 303, answer.text
        page = client.get("/monitor")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        self._sessions[who] = (client.cookies["hub_session"], csrf)
        return client, csrf


def start_site(tmp: Path, *, bootstrap_servers: str | None = None, registry_url: str | None = None, topic_prefix: str = "",
               ledger: Ledger | None = None) -> Site:
    ledger = ledger or load_ledger(tmp)
    state = build_state(ledger.engine, LedgerReadModel(ledger), bootstrap_servers=bootstrap_servers, registry_url=registry_url,
                        sample_ops=bootstrap_servers is not None, topic_prefix=topic_prefix)
    site = Site("", None, ledger)
    for name, (role, hei) in ACCOUNTS.items():
        site.passwords[name] = secrets.token_urlsafe(16)
        state.accounts.add(name, role, hei, site.passwords[name])
        site.tokens[name] = state.accounts.issue_token(name, "tests")
    site.running = serve_web(state, port=0)
    site.url = site.running.url
    return site


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."
