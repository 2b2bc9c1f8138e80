"""``start_broker``: choose the engine, start it, say why."""

from __future__ import annotations

from pathlib import Path

from hub.broker._choose import choose_engine
from hub.broker._jars import Progress
from hub.broker._kafka import KafkaLauncher
from hub.broker._running import RunningBroker
from hub.broker._tansu import LIMITS, TansuLauncher
from hub.logs import get_logger
from hub.settings import HubSettings

log = get_logger(component="broker")

DEFAULT_HEAP_MB = 384


def start_broker(
    engine: str = "auto",
    data_dir: Path | str = Path(".hub-data"),
    port: int | None = None,
    partitions: int = 6,
    *,
    bootstrap_servers: str | None = None,
    heap_mb: int = DEFAULT_HEAP_MB,
    start_timeout: float = 90.0,
    attempts: int = 3,
    progress: Progress | None = None,
) -> RunningBroker:
    """Start an embedded broker and return once it answers metadata requests.

    ``engine``: "auto" (Apache Kafka where Java >= 17 and its jars or Maven are
    found, else Tansu), "kafka" or "tansu". Apache Kafka keeps its records in
    ``data_dir/kafka``; Tansu keeps them in memory. ``port`` None means 9092 if
    free, else a free loopback port; 0 means any free loopback port.
    ``bootstrap_servers`` given: start nothing and use that cluster (engine
    "external"). ``progress`` receives one-line messages while Maven downloads.

    Raises EngineUnavailable (engine cannot run here) or BrokerStartFailed
    (it ran but never answered; the message ends with its last output lines).
    """
    data_dir = Path(data_dir)
    if bootstrap_servers:
        why = "HUB_BOOTSTRAP_SERVERS is set, so the hub uses that cluster and starts no broker"
        return RunningBroker("external", why, bootstrap_servers=bootstrap_servers, start_timeout=min(start_timeout, 15.0)).start()
    chosen, why = choose_engine(engine)
    report = progress or (lambda message: log.info("broker_progress", message=message))
    if chosen == "kafka":
        launcher: KafkaLauncher | TansuLauncher = KafkaLauncher(data_dir, port, partitions, heap_mb, report)
    else:
        launcher = TansuLauncher(data_dir, port)
        log.warning("tansu_limits", why=why, limits="; ".join(LIMITS),
                    hint="fine for a quick look; install Java >= 17 and Maven for Apache Kafka")
    log.info("broker_starting", engine=chosen, why=why, data_dir=str(data_dir))
    return RunningBroker(chosen, why, launcher=launcher, data_dir=data_dir, start_timeout=start_timeout, attempts=attempts).start()


def start_from_settings(settings: HubSettings, *, progress: Progress | None = None) -> RunningBroker:
    """The broker ``hub up`` uses: HUB_BOOTSTRAP_SERVERS, else an HUB_BROKER engine in HUB_DATA_DIR."""
    return start_broker(settings.broker, settings.data_dir, partitions=settings.partitions,
                        bootstrap_servers=settings.bootstrap_servers, progress=progress)
