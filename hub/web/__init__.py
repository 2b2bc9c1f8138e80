"""The registrar inbox and live mobility monitor: a FastAPI app over the ledger and the hub topics.

    >>> from hub.web import build_state, open_engine, serve_web, LedgerReadModel   # doctest: +SKIP
    >>> engine = open_engine("sqlite:///.hub-data/ledger.sqlite")                    # doctest: +SKIP
    >>> state = build_state(engine, LedgerReadModel(engine), bootstrap_servers=..., registry_url=...)  # doctest: +SKIP
    >>> with serve_web(state, port=0) as web:                                         # doctest: +SKIP
    ...     print(web.url)

Accounts (``AccountStore``) live in the same database; ``hub web user add``
creates them, ``hub up`` seeds demo accounts (``seed_demo_accounts``).
"""

from hub.web.accounts import ACCOUNTS_FILE, Account, AccountError, AccountStore, Principal, Role, seed_demo_accounts
from hub.web.app import WebState, create_app
from hub.web.publish import DecisionPublisher, PublishUnavailable
from hub.web.readmodel import DecisionDetail, DecisionPage, DecisionQuery, DecisionRow, MonitorData, ReadModel, StudentRow
from hub.web.server import DEFAULT_PORT, RunningWeb, WebStartError, build_state, open_engine, run_web, serve_web

__all__ = [
    "ACCOUNTS_FILE",
    "DEFAULT_PORT",
    "Account",
    "AccountError",
    "AccountStore",
    "DecisionDetail",
    "DecisionPage",
    "DecisionPublisher",
    "DecisionQuery",
    "DecisionRow",
    "MonitorData",
    "Principal",
    "PublishUnavailable",
    "ReadModel",
    "Role",
    "RunningWeb",
    "StudentRow",
    "WebStartError",
    "WebState",
    "build_state",
    "create_app",
    "open_engine",
    "run_web",
    "seed_demo_accounts",
    "serve_web",
]
