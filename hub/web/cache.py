"""A small LRU cache that computes each missing key once, however many requests ask for it at the same time.

While the ledger changes, every cached page turns stale at once and all the
registrars reloading at that moment miss together; without this each of them
would run the same queries and render the same table (on two cores, under the
GIL), so the slowest answer grew with the number of registrars.  Here the
first one computes and the others wait for its result.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["OnceCache"]

V = TypeVar("V")


class OnceCache(Generic[V]):
    """At most ``size`` values, least recently used dropped first; :meth:`get` computes a missing key once."""

    def __init__(self, size: int = 512, wait: float = 30.0) -> None:
        self.size, self.wait = size, wait
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._running: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self.computed = 0  # how many times a value was computed (tests and the benchmark look)

    def peek(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def get(self, key: Hashable, compute: Callable[[], V], valid: Callable[[V], bool] | None = None) -> V:
        """The value of ``key``, computed by ``compute`` when missing or when ``valid`` says the stored one is not."""
        with self._lock:
            value = self._values.get(key)
            if value is not None and (valid is None or valid(value)):
                self._values.move_to_end(key)
                return value
            running = self._running.get(key)
            if running is None:
                running = self._running[key] = threading.Event()
                owner = True
            else:
                owner = False
        if not owner:
            finished = running.wait(self.wait)
            value = self.peek(key)
            if value is not None and (valid is None or valid(value)):
                return value
            # the computing request failed (its error went to its own client): try again, as its successor;
            # it takes longer than ``wait``: compute alongside, without storing
            return self.get(key, compute, valid) if finished else compute()
        try:
            value = compute()
            with self._lock:
                self.computed += 1
                self._values[key] = value
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
            return value
        finally:
            with self._lock:
                del self._running[key]
            running.set()

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)
