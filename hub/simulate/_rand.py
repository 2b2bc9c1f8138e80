"""Seeded randomness: every draw comes from a ``random.Random`` derived from the run's seed.

A sub-stream is seeded with a text built from the seed and a purpose
(``"7/students/hh.se"``); ``random.Random`` hashes text seeds with SHA-512, so
sub-streams are stable across runs, machines and ``PYTHONHASHSEED``, and one
partner's size never shifts another partner's draws.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import TypeVar

T = TypeVar("T")

#: Namespace of every derived (uuid5) identifier the simulator writes.
SIM_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://heroes-alliance.eu/hub/simulate")


class Rand(random.Random):
    """``random.Random`` with the few helpers the generator needs."""

    def uuid(self) -> str:
        """A random (version 4) UUID, as ``str(uuid.UUID(int=..., version=4))`` prints it, faster."""
        n = self.getrandbits(128)
        n = (n & ~(0xC000 << 48)) | (0x8000 << 48)
        n = (n & ~(0xF000 << 64)) | (4 << 76)
        return _dashed(f"{n:032x}")

    def chance(self, p: float) -> bool:
        return self.random() < p

    def weighted(self, options: Sequence[tuple[T, float]]) -> T:
        values = [o for o, _ in options]
        return self.choices(values, weights=[w for _, w in options])[0]

    def moment(self, start: datetime, end: datetime) -> datetime:
        """A whole second between start and end (inclusive), UTC."""
        span = int((end - start).total_seconds())
        return start + timedelta(seconds=self.randint(0, max(span, 0)))

    def office_time(self, day: date, first_hour: int = 7, last_hour: int = 16) -> datetime:
        """A moment during office hours (UTC) on a given day."""
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(
            seconds=self.randint(first_hour * 3600, last_hour * 3600 + 3599)
        )

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.randint(0, max((last - first).days, 0)))


def sub_rng(seed: int, *purpose: object) -> Rand:
    """A sub-stream of ``seed`` for one purpose; the same arguments always give the same draws."""
    return Rand("/".join([str(seed), *(str(p) for p in purpose)]))


_NS_BYTES = SIM_NAMESPACE.bytes


def _dashed(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def derived_uuid(*parts: object) -> str:
    """A stable UUID named by its parts: exactly ``uuid.uuid5(SIM_NAMESPACE, "|".join(parts))``."""
    d = bytearray(hashlib.sha1(_NS_BYTES + "|".join(str(p) for p in parts).encode()).digest()[:16])
    d[6] = (d[6] & 0x0F) | 0x50
    d[8] = (d[8] & 0x3F) | 0x80
    return _dashed(d.hex())


def ms(ts: datetime) -> int:
    """Milliseconds since the epoch: the sort key of deliveries."""
    return int(ts.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc)


def iso(ts: datetime) -> str:
    """ISO 8601 UTC with milliseconds, as canonical JSON prints timestamps."""
    return ts.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_ms(value: int) -> str:
    return iso(from_ms(value))
