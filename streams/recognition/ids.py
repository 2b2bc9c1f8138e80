"""Name-based UUIDs as text, made per decision and per status line: without building ``uuid.UUID`` objects."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable

__all__ = ["uuid5_namer"]

_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def uuid5_namer(namespace: uuid.UUID) -> Callable[[str], str]:
    """A function giving ``str(uuid.uuid5(namespace, name))`` for a name; the namespace is hashed once, here."""
    start = hashlib.sha1(namespace.bytes)

    def name_uuid(name: str) -> str:
        h = start.copy()
        h.update(name.encode())
        x = h.hexdigest()
        # version 5 in the 13th hex digit, the RFC 4122 variant in the top bits of the 17th
        return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"

    return name_uuid
