"""``hub up`` part: the ledger writer (hub.recognitions, status, deadlines -> SQL) as a child process."""

from __future__ import annotations

from hub.runtime import RunContext


class LedgerPart:
    name = "ledger"

    def __init__(self) -> None:
        self._sup = None

    def start(self, ctx: RunContext) -> str:
        from streams.config import StreamsConfig
        from streams.supervisor import Supervisor

        cfg = ctx.extras.get("streams_config") or StreamsConfig.from_settings(
            ctx.settings, bootstrap_servers=ctx.bootstrap_servers or None, registry_url=ctx.registry_url or None, data_dir=ctx.data_dir)
        self._sup = Supervisor(cfg, ledger=True, stream=False).start()
        url = cfg.ledger_url or ""
        shown = url.split("@")[-1] if "@" in url else url
        return f"writer pid {self._sup.pids()['ledger']} -> {shown} (`hub ledger list --hei <hei>`)"

    def stop(self) -> None:
        if self._sup is not None:
            self._sup.stop()
