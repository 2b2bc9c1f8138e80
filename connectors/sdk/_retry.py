"""Exponential back-off with full jitter, shared by the HTTP sources and the run loop."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays ``base * factor**n`` capped at ``cap``, each drawn uniformly from [delay/2, delay].

    >>> b = Backoff(base=1, cap=8, rng=random.Random(1))
    >>> [round(b.next_delay(), 2) <= d for d in (1, 2, 4, 8, 8)]
    [True, True, True, True, True]
    """

    base: float = 0.5
    factor: float = 2.0
    cap: float = 60.0
    attempts: int = 6  # for callers that give up (HTTP requests); the run loop never gives up
    rng: random.Random = field(default_factory=random.Random)
    _n: int = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        """The next wait; a server's ``Retry-After`` wins when it asks for longer (capped at ``cap``)."""
        delay = min(self.cap, self.base * self.factor**self._n)
        self._n += 1
        jittered = self.rng.uniform(delay / 2, delay)
        if retry_after is not None:
            return min(self.cap, max(jittered, retry_after))
        return jittered

    def reset(self) -> None:
        self._n = 0

    @property
    def failures(self) -> int:
        return self._n


def sleep_unless(stop: Callable[[], bool], seconds: float, step: float = 0.1) -> bool:
    """Sleep ``seconds`` in small steps; return True early once ``stop()`` says so."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if stop():
            return True
        time.sleep(min(step, max(0.0, deadline - time.monotonic())))
    return stop()
