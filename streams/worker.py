"""Run one stream worker or the ledger writer in this process (what the subprocesses of ``hub streams run`` do).

    python -m streams.worker stream --name w1     # a faust worker: registrar (and recognise under HUB_STREAMS_RECOGNISE=faust)
    python -m streams.worker normalise --name n1  # the normalise stage (plain aiokafka)
    python -m streams.worker recognise --name r1  # the recognise stage (plain aiokafka)
    python -m streams.worker ledger               # the ledger writer

Addresses and knobs come from the environment (``HUB_BOOTSTRAP_SERVERS``,
``HUB_SCHEMA_REGISTRY_URL``, ``HUB_LEDGER_URL``, ``HUB_STREAMS_*``).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import replace

from streams.config import StreamsConfig, StreamsSettings

__all__ = ["config_from_env", "run_ledger_writer", "run_stage", "run_stream_worker"]


def config_from_env(**overrides) -> StreamsConfig:
    from hub.settings import HubSettings

    return StreamsConfig.from_settings(HubSettings(), StreamsSettings(), **overrides)


def run_stream_worker(cfg: StreamsConfig, loglevel: str = "warning") -> None:
    """Run a faust worker until SIGTERM/SIGINT (blocks): the registrar agent, and recognise when it runs in faust."""
    import faust

    from hub.logs import configure_logging
    from streams.app import create_app, ensure_streams_topics
    from streams.runtime import tune_gc

    configure_logging(loglevel)
    ensure_streams_topics(cfg)
    (cfg.data_dir / "streams" / cfg.worker_name).mkdir(parents=True, exist_ok=True)
    if cfg.recognise == "faust":
        hub = create_app(cfg, agents=("registrar", "recognise"))
    else:
        # Re-keying needs no transactions (the rules ignore a decision delivered twice), and under exactly_once
        # faust-streaming 0.15 crashed on every assignment with this agent alone (KeyError in its assignor's topic groups).
        hub = create_app(replace(cfg, processing_guarantee="at_least_once"), agents=("registrar",))
    worker = faust.Worker(hub.app, loglevel=loglevel, quiet=True, redirect_stdouts=False, override_logging=False)
    tune_gc()  # the setting python -m bench.recognition measures the rules under
    worker.execute_from_commandline()


def run_stage(cfg: StreamsConfig, role: str, loglevel: str = "info") -> None:
    """Run the normalise or the recognise stage until SIGTERM/SIGINT (blocks)."""
    from hub.logs import configure_logging
    from streams.app import ensure_streams_topics
    from streams.runtime import tune_gc

    configure_logging(loglevel)
    ensure_streams_topics(cfg)
    if role == "normalise":
        from streams.normalise_stage import NormaliseStage as Stage
    else:
        from streams.recognise_stage import RecogniseStage as Stage
    stage = Stage(cfg)
    tune_gc()  # as the faust worker does once built
    _run_until_signalled(stage)


def run_ledger_writer(cfg: StreamsConfig, consumer_name: str | None = None) -> None:
    """Run the ledger writer until SIGTERM/SIGINT (blocks)."""
    from hub.logs import configure_logging
    from streams.ledger import Ledger, LedgerWriter

    configure_logging("info")
    ledger = Ledger(cfg.ledger_url or f"sqlite:///{(cfg.data_dir / 'ledger.sqlite').resolve()}")
    writer = LedgerWriter(cfg.bootstrap_servers, cfg.registry_url, ledger, topic_prefix=cfg.topic_prefix,
                          consumer_name=consumer_name or f"{cfg.topic_prefix}{cfg.app_id}-ledger")
    from streams.runtime import tune_gc

    tune_gc()  # each record decodes to dozens of containers: at Python's default the collector took a fifth of the writer
    _run_until_signalled(writer)
    ledger.close()


def _run_until_signalled(service) -> None:
    """``await service.run()`` in a new event loop; SIGTERM and SIGINT call ``service.stop()`` (blocks)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, service.stop)
        await service.run()

    asyncio.run(main())


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m streams.worker")
    parser.add_argument("role", choices=["stream", "normalise", "recognise", "ledger"])
    parser.add_argument("--name", default="w1", help="worker name (its table store folder)")
    parser.add_argument("--loglevel", default="warning")
    args = parser.parse_args(argv)
    cfg = config_from_env()
    if args.role == "stream":
        run_stream_worker(replace(cfg, worker_name=args.name), args.loglevel)
    elif args.role in ("normalise", "recognise"):
        run_stage(replace(cfg, worker_name=args.name), args.role)
    else:
        run_ledger_writer(cfg)


if __name__ == "__main__":
    main(sys.argv[1:])
