"""``hub up`` part: every partner connector (nine SIS connectors, nine EWP ones) against the simulated alliance.

Each connector runs in a thread of this process with its own Kafka producer and
schema-registry serializer (one Python process instead of eighteen: on a small
machine the interpreters' start-up and memory would cost more than the work). A
connector that crashes is built again after a back-off; one that the source refused
for good (``StopConnector``) or whose settings are invalid stays stopped and says why.
Every few seconds a line per partner shows what was published and rejected.
Cursors live in ``<data_dir>/connectors/<name>.sqlite``, as for ``hub connector``.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

from hub.logs import get_logger
from hub.parts.sis_wiring import simulated_settings
from hub.runtime import RunContext

log = get_logger(component="connectors")
PROGRESS_EVERY = 5.0


class ConnectorThread:
    """One connector, run in a thread until stopped; rebuilt after a crash, left stopped after a refusal."""

    def __init__(self, cls: Any, overrides: dict[str, Any], bootstrap_servers: str, registry_url: str, store: Path,
                 on_listening: Any = None) -> None:
        self.cls, self.overrides, self.store = cls, overrides, store
        self.bootstrap_servers, self.registry_url = bootstrap_servers, registry_url
        self.on_listening = on_listening  # (hei, url, overrides) once a webhook source listens
        self.state = "starting"
        self.published = self.rejected = 0
        self._earlier = (0, 0)  # counts of runs before a restart
        self._runner: Any = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"connector-{cls.name}", daemon=True)

    def start(self) -> ConnectorThread:
        self.thread.start()
        return self

    def _loop(self) -> None:
        from connectors.sdk import ConfigError, StopConnector

        delay = 1.0
        while not self._stop.is_set():
            try:
                self._run()
            except ConfigError as exc:
                self.state = f"not started, invalid settings: {'; '.join(exc.problems)}"
            except StopConnector as exc:
                self.state = f"stopped: {exc}"
            except Exception as exc:  # noqa: BLE001 - a bug or an outage the SDK did not retry: build it again
                self.state = f"restarting in {delay:.0f}s after {type(exc).__name__}: {exc}"
                log.warning("connector_crashed", connector=self.cls.name, error=str(exc), restart_in=delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 60.0)
                continue
            else:
                self.state = "stopped"
            if not self._stop.is_set():
                log.error("connector_stopped", connector=self.cls.name, why=self.state)
            return

    def _run(self) -> None:
        from connectors.sdk import (
            ConnectorRunner,
            CursorStore,
            KafkaPublisher,
            RegistrySerializer,
        )

        conn = self.cls(**self.overrides)
        sources = conn.sources(conn.settings)
        publisher = KafkaPublisher(self.bootstrap_servers, client_id=f"hub-up-{conn.name}")
        serializer = RegistrySerializer(self.registry_url)
        store = CursorStore(self.store)
        try:
            self._runner = ConnectorRunner(conn, publisher, store, serializer=serializer, progress=self._count)
            if self._stop.is_set():
                return
            self.state = "running"
            for src in sources:
                if src.kind == "webhook" and self.on_listening is not None:
                    threading.Thread(target=self._announce, args=(src,), daemon=True).start()
            self._count(self._runner.run(sources=sources))
        finally:
            self._earlier = (self.published, self.rejected)
            publisher.close()
            serializer.close()
            store.close()

    def _announce(self, src: Any) -> None:
        while not self._stop.is_set() and not getattr(src, "url", ""):
            time.sleep(0.05)
        if getattr(src, "url", ""):
            self.on_listening(self.cls.hei, src.url, self.overrides)

    def _count(self, totals: Any) -> None:
        self.published = self._earlier[0] + sum(totals.published.values())
        self.rejected = self._earlier[1] + sum(totals.rejected.values())

    def stop(self) -> None:
        self._stop.set()
        if self._runner is not None:
            self._runner.stop()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)


class ConnectorsPart:
    name = "connectors"

    def __init__(self) -> None:
        self.threads: list[ConnectorThread] = []
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._sim: Any = None

    def start(self, ctx: RunContext) -> str:
        from connectors.sdk import discover

        sim = self._sim = ctx.extras.get("simulation")
        if sim is None:
            return "not started: no simulated SIS to read (the simulation part did not run)"
        # eighteen producers share one interpreter: a sender thread that waited for the GIL is not a fault
        logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
        state = ctx.data_dir / "connectors"
        unwired = []
        for name, cls in sorted(discover().items()):
            if name.startswith("example"):
                continue
            overrides = simulated_settings(name, cls.hei, sim.folder, sim.urls, state)
            if overrides is None:
                unwired.append(name)
                continue
            if sim.fresh:  # another simulation: the saved cursors and spools belong to the old data
                _forget(state, name)
            self.threads.append(ConnectorThread(cls, overrides, ctx.bootstrap_servers, ctx.registry_url,
                                                state / f"{name}.sqlite", self._listening(sim)).start())
        self._ticker = threading.Thread(target=self._show, name="connectors-progress", daemon=True)
        self._ticker.start()
        ctx.extras["connectors"] = self
        heis = len({t.cls.hei for t in self.threads})
        line = (f"{len(self.threads)} connectors of {heis} partners in threads, reading the simulated SIS, publishing to "
                f"{ctx.bootstrap_servers}; cursors in {state}")
        return line + (f"; not wired to the simulation: {', '.join(unwired)}" if unwired else "")

    @staticmethod
    def _listening(sim: Any) -> Any:
        def push(hei: str, url: str, overrides: dict[str, Any]) -> None:
            sim.push_webhooks(hei, url, str(overrides["token"]))
        return push

    def counts(self) -> dict[str, tuple[int, int]]:
        """(published, rejected) per partner, over its SIS and EWP connectors."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for t in self.threads:
            out[t.cls.hei][0] += t.published
            out[t.cls.hei][1] += t.rejected
        return {hei: (p, r) for hei, (p, r) in sorted(out.items())}

    def problems(self) -> dict[str, str]:
        """Connectors that are not running, with why."""
        return {t.cls.name: t.state for t in self.threads if t.state != "running"}

    def _show(self) -> None:
        shown: dict[str, tuple[int, int]] = {}
        reported: dict[str, str] = {}
        while not self._stop.wait(PROGRESS_EVERY):
            for hei, (published, rejected) in self.counts().items():
                if shown.get(hei) != (published, rejected):
                    shown[hei] = (published, rejected)
                    click.echo(f"  connectors  {hei:<14} published {published:>7}   rejected {rejected:>5}", err=True)
            for name, why in self.problems().items():
                if reported.get(name) != why and why != "starting":
                    reported[name] = why
                    click.echo(f"  connectors  {name}: {why}", err=True)

    def stop(self) -> None:
        self._stop.set()
        if self._sim is not None:
            self._sim.stop()  # no more webhook posts to connectors that are going away
        for t in self.threads:
            t.stop()
        deadline = time.monotonic() + 30
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        if self.threads:
            total = sum(p for p, _ in self.counts().values()), sum(r for _, r in self.counts().values())
            click.echo(f"  connectors  published {total[0]}, rejected {total[1]} in this run", err=True)


def _forget(state: Path, name: str) -> None:
    for path in state.glob(f"{name}.sqlite*"):
        path.unlink()
    shutil.rmtree(state / name, ignore_errors=True)
