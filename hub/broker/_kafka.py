"""Apache Kafka 4.x as one KRaft node (broker and controller in one JVM) on loopback ports.

Files under ``<data_dir>/kafka``: ``cluster.id``, ``server.properties`` (rewritten
at each start, since ports may change), ``logs/`` (the records and the
metadata log, formatted once) and ``broker.log`` (the JVM's console output).
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from hub.broker._cds import ClassArchive
from hub.broker._choose import java_binary
from hub.broker._errors import BrokerError, EngineUnavailable
from hub.broker._jars import LOG4J_CONFIG, Progress, resolve_classpath
from hub.broker._process import claim_port, free_port

DEFAULT_PORT = 9092

# The single-node settings Kafka's own Docker image and test kits use, plus dev-friendly ones.
_STATIC = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "inter.broker.listener.name": "PLAINTEXT",
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    # 50 partitions each by default: on one node that only slows the first group join and transaction.
    "offsets.topic.num.partitions": "6",
    "transaction.state.log.num.partitions": "6",
    # The cleaner allocates this buffer at start; Kafka's 128 MiB default does not fit a small heap.
    "log.cleaner.dedupe.buffer.size": "2097152",
    # Simulated events carry past timestamps; time-based retention would delete them. Keep everything.
    "log.retention.ms": "-1",
}


class KafkaLauncher:
    """Builds the command line of one Kafka node and prepares its storage."""

    engine = "kafka"
    client_hints: dict[str, object] = {}
    limits: tuple[str, ...] = ()

    def __init__(self, data_dir: Path, port: int | None, partitions: int, heap_mb: int, progress: Progress) -> None:
        self.home = Path(data_dir).resolve() / "kafka"
        self.log_dir = self.home / "logs"
        self.log_path = self.home / "broker.log"
        self.requested_port = port
        self.partitions = partitions
        self.heap_mb = heap_mb
        self.progress = progress
        self.port = 0
        self.controller_port = 0
        self._classpath = ""
        self._java = java_binary() or "java"
        self._archive: ClassArchive | None = None

    def pick_ports(self, client_port_too: bool = True) -> None:
        """Client port: the requested one (which must be free), else 9092 when free, else any free port.

        The controller port is any free port, picked afresh at every start: only
        the node itself uses it, and a fixed one would often be taken.
        """
        if client_port_too or not self.port:
            self.port = claim_port(self.requested_port, DEFAULT_PORT)
        self.controller_port = free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()

    def prepare(self) -> None:
        """Resolve the jars (downloading them the first time), write the config, format storage once."""
        if not self._classpath:
            self._classpath = resolve_classpath(self.progress)
            self._archive = ClassArchive(self._java, self._classpath)
        self.home.mkdir(parents=True, exist_ok=True)
        self._config_path().write_text(self._config())
        if not (self.log_dir / "meta.properties").exists():
            self._format()

    def argv(self) -> list[str]:
        heap = f"{self.heap_mb}m"
        return [
            self._java, f"-Xmx{heap}", f"-Xms{min(64, self.heap_mb)}m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true", *self._log4j(),
            *(self._archive.jvm_flags() if self._archive else []),
            "-cp", self._classpath, "kafka.Kafka", str(self._config_path()),
        ]

    def stopped(self, exit_code: int | None) -> None:
        """The JVM exited: keep the class archive it wrote, if any."""
        if self._archive:
            self._archive.settle(exit_code)

    def cluster_id(self) -> str:
        """The persisted cluster id, generated (22-char URL-safe base64 UUID, as Kafka's) on first use."""
        path = self.home / "cluster.id"
        if path.exists():
            return path.read_text().strip()
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        path.write_text(cid + "\n")
        return cid

    def _config_path(self) -> Path:
        return self.home / "server.properties"

    def _config(self) -> str:
        props = dict(_STATIC)
        props.update({
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": str(self.log_dir),
            "num.partitions": str(self.partitions),
        })
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def _log4j(self) -> list[str]:
        return [f"-Dlog4j2.configurationFile={LOG4J_CONFIG}"] if LOG4J_CONFIG.exists() else []

    def _format(self) -> None:
        argv = [self._java, "-Xmx128m", *self._log4j(), "-cp", self._classpath, "kafka.tools.StorageTool",
                # "--cluster-id=" form: a random id may start with "-", which the parser would take for an option
                "format", f"--cluster-id={self.cluster_id()}", "-c", str(self._config_path())]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EngineUnavailable(f"could not run Kafka's StorageTool with {self._java}: {exc}") from exc
        if done.returncode != 0:
            raise BrokerError(
                f"formatting {self.log_dir} failed (exit {done.returncode}); if the folder holds another "
                f"cluster's data, remove {self.home} to start afresh:\n{done.stdout}{done.stderr}"
            )
