"""One small simulated alliance per test session (200 students, a high mobility share so every case occurs)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from hub.simulate import SimulationConfig, Summary, simulate

SEED = 7
SMALL = dict(seed=SEED, students=200, mobility_share=0.15, bad_share=0.02)


class Sim:
    """A generated simulation folder and handy readers of its expected outputs."""

    def __init__(self, root: Path, summary: Summary, seconds: float):
        self.root, self.summary, self.seconds = root, summary, seconds

    def jsonl(self, rel: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in (self.root / rel).read_text(encoding="utf-8").splitlines() if x.strip()]

    @property
    def counts(self) -> dict[str, Any]:
        return json.loads((self.root / "expected" / "counts.json").read_text(encoding="utf-8"))

    def bad(self, source: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        return [b for b in self.jsonl("expected/bad.jsonl")
                if (source is None or b["source"] == source) and (kind is None or b["kind"] == kind)]


def tree_digest(root: Path) -> str:
    """One SHA-256 over every file's relative path and bytes, in path order."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Sim:
    out = tmp_path_factory.mktemp("sim") / "alliance"
    started = time.monotonic()
    summary = simulate(SimulationConfig(out=out, **SMALL))
    return Sim(out, summary, time.monotonic() - started)
