"""Replay VIKO's webhook posts: every body of ``viko.lt/webhooks.jsonl``, in order, to a URL."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx


class WebhookTargetUnavailable(RuntimeError):
    """The webhook receiver could not be reached; start it (e.g. the VIKO connector) and push again."""


@dataclass
class PushReport:
    posted: int = 0
    statuses: Counter = field(default_factory=Counter)  # HTTP status -> posts


def push_webhooks(sim_dir: str | Path, url: str, token: str, *, limit: int | None = None, start: int = 0,
                  timeout: float = 10.0) -> PushReport:
    """POST each body (bytes as written, bad ones included) with ``Authorization: Bearer <token>``."""
    path = Path(sim_dir) / "viko.lt" / "webhooks.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `hub simulate` into {sim_dir} first")
    report = PushReport()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8",
               "User-Agent": "VIKO-AIS-webhook (HEROES simulator)"}
    with httpx.Client(timeout=timeout) as client, path.open("rb") as fh:
        for number, line in enumerate(fh):
            if number < start:
                continue
            if limit is not None and report.posted >= limit:
                break
            try:
                response = client.post(url, content=line.rstrip(b"\n"), headers={**headers, "X-Delivery-Line": str(number + 1)})
            except httpx.TransportError as exc:
                raise WebhookTargetUnavailable(f"cannot POST to {url}: {exc} (after {report.posted} posts; "
                                               f"resume with start={number})") from exc
            report.posted += 1
            report.statuses[response.status_code] += 1
    return report
