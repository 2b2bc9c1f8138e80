"""Accounts, sessions and API tokens of the web app, kept in SQL beside the ledger.

Passwords are argon2id hashes (``argon2-cffi``); session ids and API tokens are
random and only their SHA-256 is stored, so a copy of the database lets nobody
sign in.  Each account has one role; ``registrar`` and ``international-office``
also have one institution (SCHAC code), which bounds everything they see.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from schemas.institutions import SCHAC_CODES, UnknownInstitution, institution

__all__ = [
    "ACCOUNTS_FILE",
    "Account",
    "AccountError",
    "AccountStore",
    "Principal",
    "Role",
    "seed_demo_accounts",
]

ACCOUNTS_FILE = "web-accounts.txt"
SESSION_TTL = timedelta(hours=8)
# a session found valid is believed for this long before the database is asked again: each page view would
# otherwise cost a query on the event loop; sign-out and removal in this process take effect at once, a
# removal by `hub web user remove` (another process) within this many seconds
SESSION_RECHECK = 2.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")


class Role(str, Enum):
    REGISTRAR = "registrar"
    INTERNATIONAL_OFFICE = "international-office"
    ALLIANCE = "alliance"
    ADMIN = "admin"

    @property
    def needs_hei(self) -> bool:
        return self in (Role.REGISTRAR, Role.INTERNATIONAL_OFFICE)


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says what to change."""


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    hei: str | None
    created_at: datetime


@dataclass(frozen=True)
class Principal:
    """Who is asking: the account, and how it proved it (``session`` with its CSRF token, or ``token``)."""

    name: str
    role: Role
    hei: str | None
    via: str
    csrf: str = ""


metadata = sa.MetaData()
users = sa.Table(
    "web_users", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("hei", sa.String(64), nullable=True),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user", sa.String(64), sa.ForeignKey("web_users.name", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
tokens = sa.Table(
    "web_tokens", metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user", sa.String(64), sa.ForeignKey("web_users.name", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime) -> datetime:
    # SQLite gives naive datetimes back; they were written as UTC
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class AccountStore:
    """Users, sessions and tokens over one SQLAlchemy engine (the ledger's database by default)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        # OWASP's argon2id setting (19 MiB, 2 passes, 1 lane): sign-in stays fast on two busy cores
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self._dummy = self._hasher.hash(secrets.token_hex(8))
        self._recent: dict[str, tuple[Principal, datetime, float]] = {}  # session id hash -> (who, expires, looked up at)
        self._recent_lock = threading.Lock()
        metadata.create_all(engine)

    # --- users --------------------------------------------------------------------

    def add(self, name: str, role: Role | str, hei: str | None, password: str) -> Account:
        role = Role(role)
        if not _NAME.match(name):
            raise AccountError(f"account name {name!r}: use 2-64 letters, digits, '.', '_', '@' or '-'")
        if role.needs_hei:
            if not hei:
                raise AccountError(f"role {role.value} needs --hei (one of {', '.join(SCHAC_CODES)})")
            try:
                hei = institution(hei).schac
            except UnknownInstitution as exc:
                raise AccountError(str(exc)) from None
        elif hei:
            raise AccountError(f"role {role.value} sees the whole alliance: leave --hei out")
        if len(password) < 12:
            raise AccountError("passwords need at least 12 characters")
        created = _now()
        with self.engine.begin() as db:
            if db.execute(sa.select(users.c.name).where(users.c.name == name)).first():
                raise AccountError(f"account {name!r} exists already; remove it first to change its role")
            db.execute(users.insert().values(name=name, role=role.value, hei=hei, password_hash=self._hasher.hash(password), created_at=created))
        return Account(name, role, hei, created)

    def remove(self, name: str) -> bool:
        with self._recent_lock:
            self._recent = {k: v for k, v in self._recent.items() if v[0].name != name}
        with self.engine.begin() as db:
            db.execute(sessions.delete().where(sessions.c.user == name))
            db.execute(tokens.delete().where(tokens.c.user == name))
            return db.execute(users.delete().where(users.c.name == name)).rowcount > 0

    def list(self) -> list[Account]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(users).order_by(users.c.role, users.c.hei, users.c.name)).all()
        return [Account(r.name, Role(r.role), r.hei, _aware(r.created_at)) for r in rows]

    def count(self) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()

    def check_password(self, name: str, password: str) -> Account | None:
        """The account when ``password`` is right; None otherwise (same work either way, so timing says nothing)."""
        with self.engine.connect() as db:
            row = db.execute(sa.select(users).where(users.c.name == name)).first()
        try:
            self._hasher.verify(row.password_hash if row else self._dummy, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        return Account(row.name, Role(row.role), row.hei, _aware(row.created_at))

    # --- sessions ----------------------------------------------------------------

    def open_session(self, account: Account) -> tuple[str, str]:
        """A new session for ``account``: (session id for the cookie, CSRF token for its forms)."""
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.engine.begin() as db:
            db.execute(sessions.delete().where(sessions.c.expires_at < _now()))
            db.execute(sessions.insert().values(id_hash=_digest(sid), user=account.name, csrf=csrf, expires_at=_now() + SESSION_TTL))
        return sid, csrf

    def session(self, sid: str) -> Principal | None:
        digest = _digest(sid)
        with self._recent_lock:
            recent = self._recent.get(digest)
        if recent is not None and time.monotonic() - recent[2] < SESSION_RECHECK and recent[1] > _now():
            return recent[0]
        query = (
            sa.select(users.c.name, users.c.role, users.c.hei, sessions.c.csrf, sessions.c.expires_at)
            .join(users, users.c.name == sessions.c.user)
            .where(sessions.c.id_hash == digest)
        )
        with self.engine.connect() as db:
            row = db.execute(query).first()
        if row is None or _aware(row.expires_at) < _now():
            with self._recent_lock:
                self._recent.pop(digest, None)
            return None
        who = Principal(row.name, Role(row.role), row.hei, "session", row.csrf)
        with self._recent_lock:
            if len(self._recent) >= 10_000:
                self._recent.clear()
            self._recent[digest] = (who, _aware(row.expires_at), time.monotonic())
        return who

    def close_session(self, sid: str) -> None:
        with self._recent_lock:
            self._recent.pop(_digest(sid), None)
        with self.engine.begin() as db:
            db.execute(sessions.delete().where(sessions.c.id_hash == _digest(sid)))

    # --- API tokens -----------------------------------------------------------------

    def issue_token(self, name: str, label: str = "script") -> str:
        """A new bearer token for account ``name``; shown once, only its hash is kept."""
        token = "hub_" + secrets.token_urlsafe(32)
        with self.engine.begin() as db:
            if not db.execute(sa.select(users.c.name).where(users.c.name == name)).first():
                raise AccountError(f"no account {name!r}: `hub web user list` shows the accounts")
            db.execute(tokens.insert().values(id_hash=_digest(token), user=name, label=label[:64], created_at=_now()))
        return token

    def token(self, token: str) -> Principal | None:
        query = sa.select(users.c.name, users.c.role, users.c.hei).join(users, users.c.name == tokens.c.user).where(tokens.c.id_hash == _digest(token))
        with self.engine.connect() as db:
            row = db.execute(query).first()
        return None if row is None else Principal(row.name, Role(row.role), row.hei, "token")


def seed_demo_accounts(store: AccountStore, data_dir: Path) -> tuple[list[str], Path | None]:
    """On an empty store: one registrar per partner, one international-office user, one alliance user, one admin.

    Passwords are random and written to ``data_dir/web-accounts.txt`` (mode 600);
    returns the account names and that file, or ([], None) when accounts exist.
    """
    if store.count():
        return [], None
    wanted = [(f"registrar-{hei}", Role.REGISTRAR, hei) for hei in SCHAC_CODES]
    wanted += [(f"intl-office-{SCHAC_CODES[0]}", Role.INTERNATIONAL_OFFICE, SCHAC_CODES[0]), ("alliance", Role.ALLIANCE, None), ("admin", Role.ADMIN, None)]
    lines = ["# HEROES Hub web accounts made by `hub up` (name role institution password). Keep this file private.\n"]
    for name, role, hei in wanted:
        password = secrets.token_urlsafe(12)
        store.add(name, role, hei, password)
        lines.append(f"{name} {role.value} {hei or '-'} {password}\n")
    path = data_dir / ACCOUNTS_FILE
    path.touch(mode=0o600)
    path.write_text("".join(lines), encoding="utf-8")
    return [w[0] for w in wanted], path
