"""The simulated alliance: a seeded, reproducible year of the nine HEROES partners.

``simulate(SimulationConfig(seed=7, students=200, out=Path("sim")))`` writes each partner's
SIS data in its native format, every partner's EWP documents, the grading tables, every good
event in hub terms (``hub-events.jsonl``) and the expected outcomes (``expected/``).
``serve_partner_apis(sim_dir)`` serves the HTTP-based ones on loopback; ``load_sql`` copies the
SQL partners into PostgreSQL or MariaDB; ``push_webhooks`` replays VIKO's webhook posts.
"""

from hub.simulate._config import SimulationConfig, SimulationError
from hub.simulate._push import PushReport, WebhookTargetUnavailable, push_webhooks
from hub.simulate._run import Summary, simulate
from hub.simulate._serve import (
    PATHS,
    RunningServers,
    SimulationNotFound,
    serve_partner_apis,
)
from hub.simulate._sqlload import LoadReport, SqlLoadError, load_sql

__all__ = [
    "LoadReport", "PATHS", "PushReport", "RunningServers", "SimulationConfig", "SimulationError", "SimulationNotFound",
    "SqlLoadError", "Summary", "WebhookTargetUnavailable", "load_sql", "push_webhooks", "serve_partner_apis", "simulate",
]
