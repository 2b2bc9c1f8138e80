"""The hub's stream processors: plain-Kafka normalise and recognise stages and a faust app around pure rules, and the ledger.

Front door (imported lazily, so ``streams.recognition`` stays free of faust)::

    from streams import StreamsConfig, create_app, NormaliseStage, RecogniseStage, Supervisor, Ledger, LedgerWriter

- ``StreamsConfig.from_settings(hub_settings)``: what a worker needs;
- ``NormaliseStage(config).run()``: partner topics -> ``hub.*`` keyed by ESI (aiokafka batches);
- ``RecogniseStage(config).run()``: ``hub.grades``/``hub.mobilities``/registrar decisions -> decisions, status lines, alerts;
- ``create_app(config)``: the faust app (the registrar agent, and the recognise agent under ``recognise=faust``);
- ``Supervisor(config, workers=2).start()``: stages, faust workers and the ledger writer as child processes;
- ``Ledger(url)`` / ``LedgerWriter(...)``: the ledger database and its Kafka consumer.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ConfigError", "HubCodec", "Ledger", "LedgerWriter", "NormaliseStage", "RecogniseStage", "StreamsConfig", "StreamsSettings",
           "Supervisor", "create_app", "ensure_streams_topics"]

_WHERE = {
    "ConfigError": "streams.config", "StreamsConfig": "streams.config", "StreamsSettings": "streams.config",
    "HubCodec": "streams.codec", "create_app": "streams.app", "ensure_streams_topics": "streams.app",
    "Supervisor": "streams.supervisor", "NormaliseStage": "streams.normalise_stage",
    "RecogniseStage": "streams.recognise_stage", "Ledger": "streams.ledger", "LedgerWriter": "streams.ledger",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'streams' has no attribute {name!r}")
