"""What a benchmark ran on: the interpreter, and how fast it and the machine were at that moment.

The same code runs at different speeds on different builds of CPython (one built
without ``--enable-optimizations`` runs the reference below about twice as slowly as
a distribution's or the official Docker image's build on the same core), and this
machine's speed drifts within an evening; each benchmark reports these next to its
results, so runs are compared knowing both.
"""

from __future__ import annotations

import os
import platform
import sys
import time

__all__ = ["described", "reference_us", "load_average", "interpreter"]


def reference_us() -> float:
    """CPU µs of ``sum(range(1000))``, best of 20 (about 7-10 on an idle modern x86 core with an optimised CPython)."""
    best = float("inf")
    for _ in range(20):
        t = time.process_time()
        for _ in range(200):
            sum(range(1000))
        best = min(best, (time.process_time() - t) / 200 * 1e6)
    return best


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 1)
    except (AttributeError, OSError):
        return None


def described() -> dict[str, str]:
    """The interpreter's implementation, version and executable (symlinks resolved)."""
    return {"implementation": platform.python_implementation(), "version": platform.python_version(),
            "executable": os.path.realpath(sys.executable)}


def interpreter() -> str:
    """The interpreter's version and path, e.g. ``CPython 3.11.2 /usr/bin/python3.11``."""
    return " ".join(described().values())


if __name__ == "__main__":  # the probe deploy/install.py runs under each candidate interpreter
    import json

    print(json.dumps({**described(), "reference_us": round(reference_us(), 2)}))
