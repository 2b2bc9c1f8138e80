"""Name-based UUIDs as text, made per decision and per status line: without building ``uuid.UUID`` objects."""

from __future__ import annotations

import hashlib
import uuid

__all__ = ["uuid5_text"]

_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def uuid5_text(namespace: uuid.UUID | bytes, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))`` (``namespace`` may be given as its 16 bytes, found once)."""
    ns = namespace if isinstance(namespace, bytes) else namespace.bytes
    x = hashlib.sha1(ns + name.encode()).hexdigest()
    # version 5 in the 13th hex digit, the RFC 4122 variant in the top bits of the 17th
    return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"
