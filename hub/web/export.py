"""The home SIS export as text, byte for byte what ``hub ledger export`` prints for the same ledger rows.

A test pins the two together (tests/web/test_export.py); the columns and value
forms follow ``hub.commands.ledger``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["EXPORT_COLUMNS", "render_export"]

EXPORT_COLUMNS = ["student_esi", "omobility_id", "home_component", "home_component_title", "ects", "converted_grade",
                  "home_scheme_id", "status", "host_hei", "decision_id", "version", "occurred_at"]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def render_export(rows: Sequence[dict[str, Any]], fmt: str) -> str:
    """CSV with a header row, or a JSON array (indent 1), of the export columns."""
    if fmt == "json":
        return json.dumps([{c: _plain(r[c]) for c in EXPORT_COLUMNS} for r in rows], indent=1) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: _plain(r[c]) for c in EXPORT_COLUMNS})
    return out.getvalue()
