"""Kafka's key partitioning with each key's hash remembered.

aiokafka's :class:`~aiokafka.partitioner.DefaultPartitioner` hashes every key with
a pure-Python murmur2, which costs more per record than a stage's own work on it
(a 40-byte ESI: ~10 µs).  A stage sends several records per student and batch, so
the hashes of the most recent keys are kept in a small dict (emptied when full: a
worker's memory must not grow with the students it has seen).  Partitions are the
same as the Java client's.
"""

from __future__ import annotations

import random

from aiokafka.partitioner import murmur2

__all__ = ["CachedPartitioner"]


class CachedPartitioner:
    """``partitioner=`` for an ``AIOKafkaProducer``: murmur2 of the key, as the default, from a cache of ``size`` keys."""

    def __init__(self, size: int = 8_192) -> None:
        self.size = size
        self._hashes: dict[bytes, int] = {}

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return random.choice(available or all_partitions)
        h = self._hashes.get(key)
        if h is None:
            if len(self._hashes) >= self.size:
                self._hashes.clear()  # bounded: a new generation of keys rebuilds it
            h = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[h % len(all_partitions)]
