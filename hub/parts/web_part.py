"""``hub up`` part: the registrar inbox and mobility monitor, with demo accounts on first start."""

from __future__ import annotations

import click

from hub.runtime import RunContext


def streams_topic_prefix() -> str:
    """The stream processors' topic prefix (HUB_STREAMS_TOPIC_PREFIX), so approvals reach the topics they read."""
    try:
        from streams.config import StreamsSettings
    except ImportError:
        return ""
    return StreamsSettings().topic_prefix


class WebPart:
    name = "web"

    def __init__(self) -> None:
        self._web = None
        self._ledger = None

    def start(self, ctx: RunContext) -> str:
        from hub.web import ACCOUNTS_FILE, WebStartError, build_state, seed_demo_accounts, serve_web
        from hub.web.ledger_model import LedgerReadModel
        from streams.ledger.store import Ledger

        self._ledger = Ledger(ctx.settings.ledger_database_url)
        state = build_state(self._ledger.engine, LedgerReadModel(self._ledger), bootstrap_servers=ctx.bootstrap_servers or None,
                            registry_url=ctx.registry_url or None, topic_prefix=streams_topic_prefix())
        names, written = seed_demo_accounts(state.accounts, ctx.data_dir)
        if names:
            click.echo(f"  web accounts: {', '.join(names)}", err=True)
            click.echo(f"  their passwords are in {written} (readable by you only)", err=True)
        port = int(ctx.options.get("web_port", 8080))
        try:
            self._web = serve_web(state, port=port)
        except WebStartError:  # the port is taken: any free one
            self._web = serve_web(state, port=0)
        ctx.extras["web_url"] = self._web.url
        where = written or (ctx.data_dir / ACCOUNTS_FILE)
        return f"{self._web.url}  (sign in with an account from {where}; `hub web user add` makes more)"

    def stop(self) -> None:
        if self._web is not None:
            self._web.stop()
        if self._ledger is not None:
            self._ledger.close()
