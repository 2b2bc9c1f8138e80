"""``hub web``: the registrar inbox and mobility monitor, and its accounts and API tokens."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from hub.logs import configure_logging
from hub.settings import HubSettings, load_settings

PASSWORD_ENV = "HUB_WEB_PASSWORD"


def _ledger(settings: HubSettings):
    from streams.ledger.store import Ledger, LedgerUnavailable

    try:
        return Ledger(settings.ledger_database_url)
    except LedgerUnavailable as exc:
        raise click.ClickException(str(exc)) from exc


def _store(settings: HubSettings):
    from hub.web import AccountStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return AccountStore(_ledger(settings).engine)


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8080, show_default=True, help="Port (0 = any free port).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Where the ledger lives (default HUB_DATA_DIR).")
@click.option("--bootstrap-servers", default=None, help="Kafka for registrar decisions and the operations panel (default HUB_BOOTSTRAP_SERVERS).")
@click.option("--registry-url", default=None, help="Schema registry (default HUB_SCHEMA_REGISTRY_URL).")
@click.option("--secure-cookies", is_flag=True, help="Mark cookies Secure (behind an HTTPS proxy).")
@click.pass_context
def web(ctx: click.Context, host: str, port: int, data_dir: Path | None, bootstrap_servers: str | None, registry_url: str | None,
        secure_cookies: bool) -> None:
    """Serve the registrar inbox and the live mobility monitor over the ledger.

    \b
    Accounts and tokens:
      hub web user add registrar-hh --role registrar --hei hh.se   (asks for the password, or HUB_WEB_PASSWORD)
      hub web user list
      hub web user remove registrar-hh
      hub web token registrar-hh                                    (a bearer token for scripts)
    Without Kafka the pages work read-only: approving needs --bootstrap-servers and --registry-url.
    """
    settings = load_settings(data_dir=data_dir, bootstrap_servers=bootstrap_servers, schema_registry_url=registry_url)
    ctx.obj = settings
    if ctx.invoked_subcommand is not None:
        return
    configure_logging(settings.log_level, settings.log_format)
    from hub.web import build_state, run_web
    from hub.web.ledger_model import LedgerReadModel

    ledger = _ledger(settings)
    from hub.parts.web_part import streams_topic_prefix

    state = build_state(ledger.engine, LedgerReadModel(ledger), bootstrap_servers=settings.bootstrap_servers,
                        registry_url=settings.schema_registry_url, secure_cookies=secure_cookies, topic_prefix=streams_topic_prefix())
    if not state.accounts.count():
        click.echo("hub web: no accounts yet; add one with `hub web user add NAME --role registrar --hei hh.se`", err=True)
    if state.publisher is None:
        click.echo("hub web: no Kafka/registry given, so approvals are disabled (read-only)", err=True)
    run_web(state, host, port, on_ready=lambda url: click.echo(f"hub web: serving {url} (Ctrl-C stops)", err=True))


@web.group()
def user() -> None:
    """Add, list and remove web accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["registrar", "international-office", "alliance", "admin"]), required=True)
@click.option("--hei", default=None, help="SCHAC code of the institution (registrar and international-office).")
@click.pass_obj
def user_add(settings: HubSettings, name: str, role: str, hei: str | None) -> None:
    """Create account NAME; the password comes from HUB_WEB_PASSWORD or a prompt (never an argument)."""
    from hub.web import AccountError

    password = os.environ.get(PASSWORD_ENV) or click.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        account = _store(settings).add(name, role, hei, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added {account.name} ({account.role.value}{' of ' + account.hei if account.hei else ''})")


@user.command("list")
@click.pass_obj
def user_list(settings: HubSettings) -> None:
    """Accounts with role and institution."""
    accounts = _store(settings).list()
    if not accounts:
        click.echo("no accounts", err=True)
    for a in accounts:
        click.echo(f"{a.name:32} {a.role.value:21} {a.hei or '-':15} {a.created_at:%Y-%m-%d}")


@user.command("remove")
@click.argument("name")
@click.pass_obj
def user_remove(settings: HubSettings, name: str) -> None:
    """Delete account NAME with its sessions and tokens."""
    if not _store(settings).remove(name):
        click.echo(f"no account {name!r}", err=True)
        sys.exit(1)
    click.echo(f"removed {name}")


@web.command("token")
@click.argument("name")
@click.option("--label", default="script", show_default=True, help="What the token is for.")
@click.pass_obj
def token(settings: HubSettings, name: str, label: str) -> None:
    """Print a new bearer token for account NAME (shown once): curl -H "Authorization: Bearer <token>" ..."""
    from hub.web import AccountError

    try:
        click.echo(_store(settings).issue_token(name, label))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
