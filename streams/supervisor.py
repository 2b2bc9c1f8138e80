"""Stream workers and the ledger writer as child processes: start, stop cleanly, kill, restart.

One worker per core (faust runs one event loop on one core); each child gets its
settings through ``HUB_*`` environment variables and writes its log to
``<data_dir>/logs/<name>.log``.  On Linux a child dies with its parent
(``PR_SET_PDEATHSIG``), so a killed hub leaves no worker behind.

    >>> sup = Supervisor(config, workers=2, ledger=True).start()   # doctest: +SKIP
    >>> sup.stop()                                                  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from streams.config import ConfigError, StreamsConfig, check_workers

__all__ = ["Supervisor", "child_env"]

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def child_env(cfg: StreamsConfig) -> dict[str, str]:
    """The environment that makes ``python -m streams.worker`` see ``cfg``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_STREAMS_")}
    env.update({
        "HUB_BOOTSTRAP_SERVERS": cfg.bootstrap_servers,
        "HUB_SCHEMA_REGISTRY_URL": cfg.registry_url,
        "HUB_DATA_DIR": str(cfg.data_dir),
        "HUB_PARTITIONS": str(cfg.partitions),
        "HUB_STREAMS_APP_ID": cfg.app_id,
        "HUB_STREAMS_TOPIC_PREFIX": cfg.topic_prefix,
        "HUB_STREAMS_STORE": cfg.store,
        "HUB_STREAMS_RECOGNISE": cfg.recognise,
        "HUB_STREAMS_PROCESSING_GUARANTEE": cfg.processing_guarantee,
        "HUB_STREAMS_STANDBY_REPLICAS": str(cfg.standby_replicas),
        "HUB_STREAMS_SESSION_TIMEOUT": str(cfg.session_timeout),
        "HUB_STREAMS_DEDUPE_DAYS": str(cfg.dedupe_days),
        "HUB_STREAMS_DEDUPE_MAX_IDS": str(cfg.dedupe_max_ids),
        "PYTHONUNBUFFERED": "1",
    })
    if cfg.ledger_url:
        env["HUB_LEDGER_URL"] = cfg.ledger_url
    return env


class _Child:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it; closed below after fork
        parent = os.getpid()
        on_main = threading.current_thread() is threading.main_thread()
        preexec = (lambda: _die_with_parent(parent)) if sys.platform.startswith("linux") and on_main else None
        try:
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                          env=self.env, process_group=0, preexec_fn=preexec, close_fds=True)
        finally:
            out.close()

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float) -> int | None:
        if self.popen is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(10)
        return self.popen.returncode

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Supervisor:
    """``workers`` faust workers (``w1``..``wN``), as many normalise stages (``n1``..``nN``) and, unless recognise runs
    in faust, recognise stages (``r1``..``rN``), and, with ``ledger``, one ledger writer, as child processes."""

    def __init__(self, cfg: StreamsConfig, workers: int | None = None, *, ledger: bool = True, stream: bool = True,
                 log_dir: Path | None = None, loglevel: str = "warning", keep_alive: bool = True) -> None:
        self.cfg = cfg
        if stream:
            try:
                check_workers(workers or cfg.workers, cfg.processing_guarantee)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        self.keep_alive = keep_alive
        self.restarts: list[str] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        env = child_env(cfg)
        logs = log_dir or (cfg.data_dir / "logs")
        py = sys.executable
        self.children: dict[str, _Child] = {}
        if stream:
            for i in range(1, (workers or cfg.workers) + 1):
                name = f"w{i}"
                self.children[name] = _Child(name, [py, "-m", "streams.worker", "stream", "--name", name, "--loglevel", loglevel],
                                             env, logs / f"streams-{cfg.app_id}-{name}.log")
                for role in ("normalise", "recognise") if cfg.recognise == "stage" else ("normalise",):
                    name = f"{role[0]}{i}"
                    self.children[name] = _Child(name, [py, "-m", "streams.worker", role, "--name", name], env,
                                                 logs / f"{role}-{cfg.app_id}-{name}.log")
        if ledger:
            self.children["ledger"] = _Child("ledger", [py, "-m", "streams.worker", "ledger"], env, logs / f"ledger-{cfg.app_id}.log")
        atexit.register(self.stop)

    def start(self) -> "Supervisor":
        for child in self.children.values():
            child.start()
        if self.keep_alive:
            threading.Thread(target=self._watch, name="streams-supervisor", daemon=True).start()
        return self

    def _watch(self) -> None:
        """Restart a child that exited on its own (a crash, a lost broker), as a process manager would."""
        while not self._stopping.wait(2.0):
            with self._lock:
                for name, child in self.children.items():
                    if child.popen is not None and not child.alive() and not self._stopping.is_set():
                        self.restarts.append(f"{name} (exit {child.popen.returncode}): {child.tail(3)}")
                        child.start()

    def pids(self) -> dict[str, int | None]:
        return {name: c.pid for name, c in self.children.items()}

    def dead(self) -> list[str]:
        """Names of children that exited (with the end of their logs)."""
        return [f"{n} (exit {c.popen.returncode}): {c.tail(5)}" for n, c in self.children.items() if c.popen and not c.alive()]

    def kill(self, name: str) -> None:
        """SIGKILL one child, as a crash would (no clean shutdown, no final commit); the watchdog restarts it."""
        with self._lock:
            child = self.children[name]
            child.signal(signal.SIGKILL)
            child.popen.wait(10)

    def restart(self, name: str) -> None:
        with self._lock:
            child = self.children[name]
            if child.alive():
                child.stop(30)
            child.start()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every child (workers first, the ledger writer last), SIGKILL what does not exit in time."""
        self._stopping.set()
        names = [n for n in self.children if n != "ledger"] + [n for n in self.children if n == "ledger"]
        for name in names:
            self.children[name].signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name in names:
            child = self.children[name]
            child.stop(max(1.0, deadline - time.monotonic()))
