"""``RunningBroker``: one broker process (or an external cluster) behind one small interface."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from hub.broker._admin import metadata_answers, wait_until_ready
from hub.broker._cds import CLEAN_EXIT
from hub.broker._errors import BrokerError, BrokerStartFailed
from hub.broker._process import BrokerProcess
from hub.logs import get_logger

log = get_logger(component="broker")


class Launcher(Protocol):
    engine: str
    port: int
    requested_port: int | None
    log_path: Path
    client_hints: dict[str, object]
    limits: tuple[str, ...]

    def pick_ports(self, client_port_too: bool = True) -> None: ...
    def prepare(self) -> None: ...
    def stopped(self, exit_code: int | None) -> None: ...
    def argv(self) -> list[str]: ...


class RunningBroker:
    """A started broker: where it listens, which engine, why that one, and how to stop it.

    Use it as a context manager, or call :meth:`stop`. ``engine`` is "kafka",
    "tansu" or "external" (HUB_BOOTSTRAP_SERVERS: nothing was started).
    ``client_hints`` are aiokafka/kafka-python keyword arguments this engine
    needs (empty for Apache Kafka); ``limits`` lists what the engine cannot do.
    """

    def __init__(self, engine: str, why: str, *, launcher: Launcher | None = None, bootstrap_servers: str = "",
                 data_dir: Path | None = None, start_timeout: float = 90.0, attempts: int = 3) -> None:
        self.engine = engine
        self.why = why
        self.data_dir = data_dir
        self._launcher = launcher
        self._external = bootstrap_servers
        self._timeout = start_timeout
        self._attempts = attempts
        self._proc: BrokerProcess | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self._launcher.port}" if self._launcher else self._external

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def log_path(self) -> Path | None:
        return self._launcher.log_path if self._launcher else None

    @property
    def client_hints(self) -> dict[str, object]:
        return dict(self._launcher.client_hints) if self._launcher else {}

    @property
    def limits(self) -> tuple[str, ...]:
        return self._launcher.limits if self._launcher else ()

    def start(self) -> RunningBroker:
        """Start the process and wait until a metadata request answers.

        Up to ``attempts`` tries, each on fresh ports: the failed starts seen were
        a port taken between choosing and binding it (and, per spring-kafka,
        quorum formation can time out on a loaded machine).
        """
        if self._launcher is None:
            if not metadata_answers(self._external, timeout_s=self._timeout):
                raise BrokerError(f"no Kafka broker answers at {self._external}: fix HUB_BOOTSTRAP_SERVERS or unset it to start an embedded broker")
            return self
        self._launcher.pick_ports()
        self._launch(new_client_port_on_retry=not self._launcher.requested_port)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, wait up to ``timeout`` seconds for a clean exit, then SIGKILL. Idempotent.

        Kafka stops in 1-2 s; the first start on a machine also writes its class
        archive at exit, which took up to 13 s on a loaded machine.
        """
        if self._proc is not None:
            code = self._stop_process(self._proc, timeout)
            log.info("broker_stopped", engine=self.engine, pid=self._proc.pid, exit_code=code, clean=code in CLEAN_EXIT)
            self._proc = None

    def restart(self) -> None:
        """Stop and start again on the same ports; Apache Kafka keeps every record, Tansu loses them all."""
        if self._launcher is None:
            raise BrokerError("an external cluster (HUB_BOOTSTRAP_SERVERS) is not restarted by the hub")
        self.stop()
        self._launch(new_client_port_on_retry=False)

    def __enter__(self) -> RunningBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningBroker engine={self.engine} bootstrap_servers={self.bootstrap_servers} pid={self.pid}>"

    def _stop_process(self, proc: BrokerProcess, timeout: float = 10.0) -> int | None:
        code = proc.stop(timeout)
        if self._launcher is not None:
            self._launcher.stopped(code)
        return code

    def _launch(self, new_client_port_on_retry: bool) -> None:
        """Start, wait for an answer, and retry; a retry takes new ports, keeping the client port on restarts."""
        launcher = self._launcher
        assert launcher is not None
        tail = ""
        for attempt in range(1, self._attempts + 1):
            if attempt > 1:
                launcher.pick_ports(client_port_too=new_client_port_on_retry)
            launcher.prepare()
            started = time.monotonic()
            proc = BrokerProcess(launcher.argv(), launcher.log_path)
            try:
                ready = wait_until_ready(self.bootstrap_servers, self._timeout, proc.alive)
            except BaseException:
                self._stop_process(proc)
                raise
            if ready:
                self._proc = proc
                log.info("broker_ready", engine=self.engine, bootstrap_servers=self.bootstrap_servers,
                         pid=proc.pid, seconds=round(time.monotonic() - started, 2), attempt=attempt)
                return
            exited = not proc.alive()
            tail = proc.output_tail()
            self._stop_process(proc)
            log.warning("broker_start_failed", engine=self.engine, attempt=attempt, of=self._attempts,
                        reason="process exited" if exited else f"no answer within {self._timeout:.0f}s",
                        last_line=(tail.splitlines() or [""])[-1])
        raise BrokerStartFailed(
            f"the {self.engine} broker did not answer a metadata request at {self.bootstrap_servers} "
            f"after {self._attempts} attempts (full output: {launcher.log_path})",
            tail,
        )
