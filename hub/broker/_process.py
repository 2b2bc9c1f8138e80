"""Child broker processes that never outlive the hub: own process group, parent-death signal, clean stop.

The child runs in its own process group (Ctrl-C in a terminal reaches the hub,
which then stops the broker cleanly instead of the broker dying mid-write). On
Linux the child also asks the kernel for SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``), so a SIGKILLed or crashed hub leaves no JVM behind.
The kernel ties that signal to the *thread* that forked, so children are forked
from the main thread only; elsewhere the atexit hook is the only guard.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from hub.broker._errors import BrokerError, EngineUnavailable
from hub.logs import get_logger

log = get_logger(component="broker")

_PR_SET_PDEATHSIG = 1
_STACK_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ more)")  # Java stack frames say little to an operator
_live: set[BrokerProcess] = set()
_hooks_installed = False


# Looked up before any fork: loading a library in the forked child could deadlock on the loader's lock.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent(parent_pid: int) -> None:
    """preexec_fn: runs in the child between fork and exec, so it stays tiny."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


class BrokerProcess:
    """One running child process whose output goes to a log file (a pipe could fill and stall the broker)."""

    def __init__(self, argv: Sequence[str], log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._out: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._out.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv[:1])} ===\n".encode())
        self._out.flush()
        self._offset = self._out.tell()
        preexec = None
        on_main = threading.current_thread() is threading.main_thread()
        if _prctl is not None and on_main:
            parent = os.getpid()
            preexec = lambda: _die_with_parent(parent)  # noqa: E731
        elif _prctl is not None:
            log.warning("broker_forked_off_main_thread", hint="a SIGKILL of this process would leave the broker running")
        try:
            self.popen = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT,
                process_group=0, preexec_fn=preexec, close_fds=True,
            )
        except OSError as exc:
            self._out.close()
            raise EngineUnavailable(f"could not run {argv[0]}: {exc}") from exc
        _live.add(self)
        _install_hooks()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output_tail(self, lines: int = 30) -> str:
        """The last lines this process wrote (since it started), to explain a failure."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._offset)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        meaningful = [line for line in text.splitlines() if not _STACK_FRAME.match(line)]
        return "\n".join(meaningful[-lines:])

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the process group, wait up to ``timeout`` seconds, then SIGKILL it. Returns the exit code."""
        try:
            if self.alive():
                _signal_group(self.popen.pid, signal.SIGTERM)
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    log.warning("broker_kill", pid=self.pid, reason=f"no exit {timeout:.0f}s after SIGTERM")
                    _signal_group(self.popen.pid, signal.SIGKILL)
                    self.popen.wait(10)
            return self.popen.returncode
        finally:
            _live.discard(self)
            self._out.close()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all() -> None:
    """Stop every broker this process started (atexit and SIGTERM)."""
    for proc in list(_live):
        proc.stop()


def _on_sigterm(signum: int, frame: object) -> None:
    """Stop the brokers cleanly, then die of SIGTERM as the default action would."""
    stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_hooks() -> None:
    """atexit always; a SIGTERM handler only if nobody (asyncio, faust, click command) installed one."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(stop_all)
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def claim_port(requested: int | None, default: int) -> int:
    """``requested`` (BrokerError if taken); None: ``default`` when free, else any; 0: any free loopback port."""
    if requested == 0:
        return free_port()
    if requested:
        if free_port(requested) != requested:
            raise BrokerError(f"port {requested} on 127.0.0.1 is taken: choose another --port, or omit it")
        return requested
    return free_port(default)


def free_port(preferred: int | None = None) -> int:
    """``preferred`` if it is free on 127.0.0.1, else a port the kernel picks."""
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the JVM's listener does
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free TCP port on 127.0.0.1")
