"""Memory housekeeping of a batch consumer (the stages, the ledger writer), done on a clock between batches.

The cyclic collector: Python collects its youngest generation every few
thousand new containers, and in a stage nearly every container made during a
batch is still alive then (the batch's records, outputs, the students it
loaded), so each collection walked them all to free next to nothing (offline,
8,000 students: 53 collections took 13 % of the recognise stage and found 226
objects in cycles).  So automatic collection is off while a consumer runs, and
:meth:`Housekeeping.tick` collects the young generations every
``YOUNG_EVERY`` seconds, when the batches that made most of them are gone, and
everything every ``FULL_EVERY`` seconds: cyclic garbage waits seconds at most and
memory stays bounded.  A young collection still walked every recently loaded
student (a recognise stage reloads most of a batch's students from disk): in
the running recognise stage (py-spy, 8,000 students) collections every 2 s took
9 % of its time, every 10 s 4.8 %.  Every 30 s cost about 2 %, but each
collection then paused a stage long enough to push the p99 latency at 1,000
events/s to 770-980 ms; at 10 s it is 260-300 ms, at the same peak memory (cycles
are rare: offline, 226 objects in a whole run).

glibc keeps freed pages for reuse; ``malloc_trim`` every ``TRIM_EVERY``
seconds gives them back, so resident memory stays near what is held.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import time

__all__ = ["FULL_EVERY", "Housekeeping", "TRIM_EVERY", "YOUNG_EVERY"]

YOUNG_EVERY = 10.0  # each collection walks what was made since the last one and is still alive: the longer between, the more of it is gone
FULL_EVERY = 60.0
TRIM_EVERY = 5.0


def _malloc_trim():
    """glibc's ``malloc_trim``, or None elsewhere."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


class Housekeeping:
    """``start()`` when the consumer starts, ``tick()`` after each batch (and when idle), ``stop()`` when it ends."""

    def __init__(self) -> None:
        now = time.monotonic()
        self._young = self._full = self._trimmed = now
        self._was_enabled = False  # whether start() found the collector on: stop() turns it back on then only

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def stop(self) -> None:
        if self._was_enabled:
            gc.enable()

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._full > FULL_EVERY:
            gc.collect()
            self._full = self._young = now
        elif now - self._young > YOUNG_EVERY:
            gc.collect(1)
            self._young = now
        if _TRIM is not None and now - self._trimmed > TRIM_EVERY:
            _TRIM(0)
            self._trimmed = now
