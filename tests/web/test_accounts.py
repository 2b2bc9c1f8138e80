"""Accounts: argon2 hashes, sessions and tokens stored only as hashes, the ``hub web`` CLI, and the ``hub up`` part."""

from __future__ import annotations

import socket
import stat

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from hub.runtime import RunContext
from hub.settings import HubSettings
from hub.web import AccountError, AccountStore, Role, seed_demo_accounts
from hub.web.accounts import sessions, tokens, users


@pytest.fixture
def store(tmp_path):
    return AccountStore(sa.create_engine(f"sqlite:///{tmp_path / 'accounts.sqlite'}"))


def test_passwords_sessions_and_tokens_are_stored_as_hashes(store):
    store.add("reg-hh", Role.REGISTRAR, "hh.se", "a long enough password")
    sid, csrf = store.open_session(store.check_password("reg-hh", "a long enough password"))
    token = store.issue_token("reg-hh")
    with store.engine.connect() as db:
        stored = db.execute(sa.select(users.c.password_hash)).scalar_one()
        sid_hashes = db.execute(sa.select(sessions.c.id_hash)).scalars().all()
        token_hashes = db.execute(sa.select(tokens.c.id_hash)).scalars().all()
    assert stored.startswith("$argon2id$") and "a long enough password" not in stored
    assert sid not in sid_hashes and len(sid_hashes) == 1
    assert token not in token_hashes and len(token_hashes) == 1
    assert store.session(sid).csrf == csrf and store.token(token).hei == "hh.se"
    assert store.check_password("reg-hh", "wrong password!!") is None
    assert store.check_password("nobody", "a long enough password") is None
    store.close_session(sid)
    assert store.session(sid) is None
    assert store.remove("reg-hh") and store.token(token) is None


@pytest.mark.parametrize(("name", "role", "hei", "password", "says"), [
    ("reg", "registrar", None, "a long enough password", "needs --hei"),
    ("reg", "registrar", "nowhere.edu", "a long enough password", "unknown institution"),
    ("all", "alliance", "hh.se", "a long enough password", "leave --hei out"),
    ("reg", "registrar", "hh.se", "short", "at least 12"),
    ("<script>", "admin", None, "a long enough password", "account name"),
])
def test_bad_accounts_are_refused(store, name, role, hei, password, says):
    with pytest.raises(AccountError, match=says):
        store.add(name, role, hei, password)
    assert store.count() == 0


def test_cli_adds_lists_removes_and_issues_tokens(tmp_path, monkeypatch):
    from hub.cli import main

    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUB_WEB_PASSWORD", "correct horse battery staple")
    runner = CliRunner()
    added = runner.invoke(main, ["web", "user", "add", "registrar-ucn", "--role", "registrar", "--hei", "UCN.dk"])
    assert added.exit_code == 0, added.output
    assert "registrar of ucn.dk" in added.output
    listed = runner.invoke(main, ["web", "user", "list"])
    assert "registrar-ucn" in listed.output and "ucn.dk" in listed.output and "correct horse" not in listed.output
    token = runner.invoke(main, ["web", "token", "registrar-ucn"])
    assert token.exit_code == 0 and token.output.startswith("hub_")
    duplicate = runner.invoke(main, ["web", "user", "add", "registrar-ucn", "--role", "admin"])
    assert duplicate.exit_code == 1 and "exists already" in duplicate.output
    assert runner.invoke(main, ["web", "user", "remove", "registrar-ucn"]).exit_code == 0
    assert runner.invoke(main, ["web", "user", "remove", "registrar-ucn"]).exit_code == 1


def test_demo_accounts_are_seeded_once_with_private_passwords(store, tmp_path):
    names, path = seed_demo_accounts(store, tmp_path)
    assert len(names) == 12 and "registrar-hh.se" in names and "admin" in names and "alliance" in names
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = [line.split() for line in path.read_text().splitlines() if not line.startswith("#")]
    assert all(store.check_password(name, password) for name, _, _, password in lines)
    assert seed_demo_accounts(store, tmp_path) == ([], None)


def test_web_part_starts_on_a_free_port_when_asked_port_is_taken(tmp_path):
    from hub.parts.web_part import WebPart

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    ctx = RunContext(settings=HubSettings(data_dir=tmp_path), data_dir=tmp_path, options={"web_port": port})
    part = WebPart()
    try:
        line = part.start(ctx)
        url = ctx.extras["web_url"]
        assert url in line and str(tmp_path / "web-accounts.txt") in line and f":{port}" not in url
        assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
        assert httpx.get(f"{url}/inbox", follow_redirects=False).headers["location"].startswith("/login")
    finally:
        part.stop()
        taken.close()
