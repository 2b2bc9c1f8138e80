"""Memory housekeeping of a batch consumer (the stages, the ledger writer), done on a clock between batches.

The cyclic collector: Python collects its youngest generation every few
thousand new containers, and in a stage nearly every container made during a
batch is still alive then (the batch's records, outputs, the students it
loaded), so each collection walked them all to free next to nothing (offline,
8,000 students: 53 collections took 13 % of the recognise stage and found 226
objects in cycles).  So automatic collection is off while a consumer runs, and
:meth:`Housekeeping.tick` collects everything every ``FULL_EVERY`` seconds:
cyclic garbage waits a minute at most and memory stays bounded.  There are no
young collections in between: timed in the running stages (8,000 students),
each one every 10 s paused the recognise stage 62-243 ms and the normaliser
2-25 ms and found no object in a cycle, and at a steady 1,000 events/s such
pauses were the latency's tail.  The full collection still pauses the recognise
stage about 250 ms, once a minute.

glibc keeps freed pages for reuse; ``malloc_trim`` every ``TRIM_EVERY``
seconds gives them back, so resident memory stays near what is held.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import time

__all__ = ["FULL_EVERY", "Housekeeping", "TRIM_EVERY"]

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
        self._full = self._trimmed = now
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
            self._full = now
        if _TRIM is not None and now - self._trimmed > TRIM_EVERY:
            _TRIM(0)
            self._trimmed = now
