"""Process settings of a stream worker, shared with the benchmark that measures its rules.

``tune_gc()`` is called once a worker process has started (modules imported, app
built) and before it folds events.  Everything alive by then lives as long as the
process, so it moves out of the cyclic collector's sight (``gc.freeze``); and each
event makes dozens of short-lived containers, so the youngest generation is
collected every ``GC_GEN0`` allocations instead of Python's 700.  Measured with
``python -m bench.recognition``: at 700 the collector walked the long-lived
student states and took about a quarter of the CPU per event.  Nearly all of the
per-event objects are freed by reference counting, never by the collector, so the
larger threshold holds at most a few megabytes of cyclic garbage a little longer.
"""

from __future__ import annotations

import gc

__all__ = ["GC_GEN0", "tune_gc"]

GC_GEN0 = 50_000


def tune_gc(gen0: int = GC_GEN0) -> tuple[int, int, int]:
    """Freeze what exists now and collect the youngest generation every ``gen0`` allocations; return the old thresholds."""
    old = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(max(gen0, old[0]), *old[1:])
    return old
