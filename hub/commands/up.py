"""``hub up``: the main job: every part of the hub on one machine, until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import click

from hub.logs import configure_logging, get_logger
from hub.runtime import RunContext, available_parts
from hub.settings import load_settings


@click.command()
@click.option("--engine", type=click.Choice(["auto", "kafka", "tansu"]), default=None, help="Broker engine (default HUB_BROKER or auto).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Where broker, registry and ledger keep their files (default HUB_DATA_DIR or ./.hub-data).")
@click.option("--students", type=int, default=2000, show_default=True, help="Size of the simulated alliance.")
@click.option("--seed", type=int, default=2025, show_default=True, help="Seed of the simulated alliance (same seed, same data).")
@click.option("--web-port", type=int, default=8080, show_default=True, help="Port of the web app (a free one if taken).")
@click.option("--exit-after", type=float, default=None, help="Stop by itself after this many seconds (for scripts and smoke tests).")
def up(engine: str | None, data_dir: Path | None, students: int, seed: int, web_port: int, exit_after: float | None) -> None:
    """Start the whole hub on this machine and keep it running until Ctrl-C.

    \b
    In order: the embedded Kafka broker (Apache Kafka 4.x where Java >= 17 is
    found, else Tansu) with every hub topic; the schema registry with every
    topic's schema; and each further part that is installed: the simulated
    SIS of the nine partners, their connectors, the stream processors, the
    ledger and the web app. It prints what runs where, and stops everything
    cleanly on Ctrl-C or SIGTERM.

    \b
    Point it at existing infrastructure instead of embedded parts:
      HUB_BOOTSTRAP_SERVERS=kafka1:9092 HUB_SCHEMA_REGISTRY_URL=http://reg:8081 hub up
    """
    settings = load_settings(broker=engine, data_dir=data_dir)
    configure_logging(settings.log_level, settings.log_format)
    log = get_logger(component="up")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(
        settings=settings,
        data_dir=settings.data_dir.resolve(),
        options={"students": students, "seed": seed, "web_port": web_port},
    )

    stop = threading.Event()

    def _on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    started = []
    lines: list[tuple[str, str]] = []
    try:
        for factory in available_parts():
            if stop.is_set():
                break
            part = factory()
            click.echo(f"hub up: starting {part.name} ...", err=True)
            t0 = time.monotonic()
            where = part.start(ctx)
            started.append(part)
            lines.append((part.name, where))
            log.info("part-started", part=part.name, where=where, seconds=round(time.monotonic() - t0, 1))
        if not stop.is_set():
            click.echo("\nHEROES Hub is up:")
            width = max(len(n) for n, _ in lines)
            for name, where in lines:
                click.echo(f"  {name.ljust(width)}  {where}")
            click.echo("\nPress Ctrl-C to stop.", err=True)
            sys.stdout.flush()
            stop.wait(timeout=exit_after)
    except Exception as exc:
        log.error("start-failed", error=str(exc))
        click.echo(f"hub up: could not start: {exc}", err=True)
        _stop_all(started, log)
        sys.exit(1)
    click.echo("hub up: stopping ...", err=True)
    _stop_all(started, log)
    click.echo("hub up: stopped.", err=True)


def _stop_all(parts, log) -> None:
    for part in reversed(parts):
        try:
            part.stop()
            log.info("part-stopped", part=part.name)
        except Exception as exc:  # keep stopping the others
            log.error("stop-failed", part=part.name, error=str(exc))
