"""The home SIS export as text: the ledger's export rows (``Ledger.export``) as CSV or JSON lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["render_export"]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def render_export(rows: Sequence[dict[str, Any]], fmt: str) -> str:
    """CSV with a header row, or one JSON object per line; columns in the ledger's order."""
    if fmt == "json":
        return "".join(json.dumps({k: _plain(v) for k, v in r.items()}, ensure_ascii=False) + "\n" for r in rows)
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, list(rows[0].keys()), lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _plain(v) for k, v in r.items()})
    return out.getvalue()
