"""``hub streams``: run the stream processors (normalise, registrar, recognise, monitor) and the ledger writer."""

from __future__ import annotations

import signal
import threading

import click

from hub.logs import configure_logging, get_logger
from hub.settings import load_settings

EPILOG = """\b
What runs (N = --workers; each is a child process with its log in HUB_DATA_DIR/logs):
  N normalise stages (n1..nN, plain Kafka consumers, batches of up to 2,000):
    sis.<hei>.{enrolments,grades,mobilities} -> hub.* keyed by student ESI
    (validates institutions, grading schemes and labels, resolves the
    student's ESI, drops duplicate event ids, dead-letters the rest)
  N recognise stages (r1..rN, the same kind of batches; recognise=stage):
    hub.grades + hub.mobilities + registrar decisions -> the recognition
    rules and the deadline monitor -> hub.recognitions, hub.mobility-status,
    hub.deadlines; states on a compacted topic, rebuilt at start
  N faust workers (w1..wN):
    registrar  registrar.<hei>.decisions -> re-keyed by ESI for recognise
    recognise  (only with recognise=faust) the same as the recognise stage,
               as a faust agent with faust tables (about half as fast)
  and the ledger writer: hub.recognitions, hub.mobility-status, hub.deadlines
  -> the ledger database (HUB_LEDGER_URL, default SQLite in HUB_DATA_DIR).
  Everything shares the partitions: start more on other machines with the
  same HUB_STREAMS_APP_ID and they split the work.
\b
Environment:
  HUB_BOOTSTRAP_SERVERS, HUB_SCHEMA_REGISTRY_URL   where Kafka and the registry are (required)
  HUB_LEDGER_URL                                   ledger database (SQLAlchemy URL)
  HUB_STREAMS_RECOGNISE=stage|faust                where recognise runs (default stage)
  HUB_STREAMS_STORE=memory|rocksdb                 faust table store, recognise=faust (default memory)
  HUB_STREAMS_PROCESSING_GUARANTEE                 at_least_once (default) | exactly_once
  HUB_STREAMS_APP_ID, HUB_STREAMS_TOPIC_PREFIX     consumer group / topic name prefix
\b
Example:
  HUB_BOOTSTRAP_SERVERS=127.0.0.1:9092 HUB_SCHEMA_REGISTRY_URL=http://127.0.0.1:8081 \\
    hub streams run --workers 2
"""


@click.group()
def streams() -> None:
    """Run the stream processors and the ledger writer."""


@streams.command(epilog=EPILOG)
@click.option("--workers", type=int, default=None, help="Of each: normalise stages, recognise stages, faust workers (default HUB_STREAMS_WORKERS or 1; more share the partitions, see the README).")
@click.option("--ledger/--no-ledger", default=True, show_default=True, help="Also run the ledger writer.")
@click.option("--recognise", type=click.Choice(["stage", "faust"]), default=None, help="Where recognise runs (default HUB_STREAMS_RECOGNISE or stage).")
@click.option("--store", type=click.Choice(["memory", "rocksdb"]), default=None, help="faust table store with --recognise faust (default HUB_STREAMS_STORE or memory).")
@click.option("--guarantee", type=click.Choice(["at_least_once", "exactly_once"]), default=None, help="Processing guarantee of the stages and faust workers (default HUB_STREAMS_PROCESSING_GUARANTEE or at_least_once; exactly_once needs one worker of each).")
def run(workers: int | None, ledger: bool, recognise: str | None, store: str | None, guarantee: str | None) -> None:
    """Run N normalise stages, N recognise stages, N faust workers and the ledger writer as child processes until Ctrl-C."""
    from streams.app import ensure_streams_topics
    from streams.config import ConfigError, StreamsConfig, load_streams_settings
    from streams.supervisor import Supervisor

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    log = get_logger(component="streams")
    overrides = {k: v for k, v in {"recognise": recognise, "store": store, "processing_guarantee": guarantee}.items() if v}
    try:
        cfg = StreamsConfig.from_settings(settings, load_streams_settings(), **overrides)
        sup = Supervisor(cfg, workers or cfg.workers, ledger=ledger)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    ensure_streams_topics(cfg)
    sup.start()
    click.echo(f"hub streams: {', '.join(n for n in sup.children if n != 'ledger')}{' + ledger writer' if ledger else ''} on "
               f"{cfg.bootstrap_servers}; logs in {cfg.data_dir / 'logs'}; Ctrl-C stops", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    seen = 0
    while not stop.wait(2.0):
        for line in sup.restarts[seen:]:
            log.error("child-restarted", child=line)
        seen = len(sup.restarts)
    sup.stop()
    click.echo("hub streams: stopped", err=True)
