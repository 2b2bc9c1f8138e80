"""``hub up`` part: the stream workers (normalise, recognise, monitor) as child processes."""

from __future__ import annotations

from hub.runtime import RunContext


class StreamsPart:
    name = "stream workers"

    def __init__(self) -> None:
        self._sup = None

    def start(self, ctx: RunContext) -> str:
        from streams.app import ensure_streams_topics
        from streams.config import StreamsConfig, load_streams_settings
        from streams.supervisor import Supervisor

        streams = load_streams_settings()
        workers = streams.workers
        cfg = StreamsConfig.from_settings(ctx.settings, streams, bootstrap_servers=ctx.bootstrap_servers or None,
                                          registry_url=ctx.registry_url or None, data_dir=ctx.data_dir, workers=workers)
        ensure_streams_topics(cfg, ctx.settings.replication_factor, engine=getattr(ctx.broker, "engine", None))
        self._sup = Supervisor(cfg, workers, ledger=False).start()
        ctx.extras["streams_config"] = cfg
        pids = ", ".join(f"{n}={p}" for n, p in self._sup.pids().items())
        kinds = "normalise stage, recognise stage, faust worker (registrar)" if cfg.recognise == "stage" else \
            f"normalise stage, faust worker (registrar, recognise; {cfg.store} tables)"
        return (f"{workers} of each: {kinds} ({pids}), {cfg.processing_guarantee}; "
                f"logs in {cfg.data_dir / 'logs'}")

    def stop(self) -> None:
        if self._sup is not None:
            self._sup.stop()
