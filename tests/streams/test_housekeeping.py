"""A consumer's collector runs on a clock: off between ticks, and what is cyclic garbage is freed by a tick."""

from __future__ import annotations

import gc
import weakref

from streams import housekeeping
from streams.housekeeping import Housekeeping


class _Node:
    pass


def _cycle() -> weakref.ref:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_the_collector_is_off_while_a_consumer_runs_and_back_on_after(monkeypatch):
    monkeypatch.setattr(housekeeping, "FULL_EVERY", 3600.0)
    assert gc.isenabled()
    keeper = Housekeeping()
    keeper.start()
    try:
        assert not gc.isenabled()
        garbage = _cycle()
        for _ in range(50_000):  # far past Python's threshold for a collection of the youngest generation
            [[]]
        keeper.tick()  # too early for a collection
        assert garbage() is not None
    finally:
        keeper.stop()
    assert gc.isenabled()
    gc.collect()
    assert garbage() is None


def test_a_tick_after_the_interval_frees_cyclic_garbage_of_every_generation(monkeypatch):
    monkeypatch.setattr(housekeeping, "FULL_EVERY", 3600.0)
    keeper = Housekeeping()
    keeper.start()
    try:
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        old = weakref.ref(a)
        gc.collect(1)
        gc.collect(1)  # alive through two collections: now in the oldest generation
        del a, b
        young = _cycle()
        keeper.tick()  # no collection of any generation before the interval
        assert young() is not None and old() is not None
        monkeypatch.setattr(housekeeping, "FULL_EVERY", 0.0)
        keeper.tick()
        assert young() is None and old() is None
    finally:
        keeper.stop()
