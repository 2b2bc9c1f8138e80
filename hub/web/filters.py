"""Jinja filters: how statuses, ECTS, student ids, grading tables and bands read on a page."""

from __future__ import annotations

from decimal import Decimal

from schemas.models import Band, DecisionStatus, TableRef, TableSource

__all__ = ["FILTERS"]

_LABELS = {
    DecisionStatus.AUTO_RECOGNISED: "auto-recognised",
    DecisionStatus.NEEDS_REVIEW: "needs review",
    DecisionStatus.NOT_RECOGNISED: "not recognised",
    DecisionStatus.MANUALLY_RECOGNISED: "manually recognised",
    DecisionStatus.REJECTED: "rejected",
    DecisionStatus.REVOKED: "revoked",
}
_SOURCES = {TableSource.FIELD: "field table", TableSource.INSTITUTION: "institution-wide table",
            TableSource.ECTS_SCALE: "fixed ECTS scale A10/B25/C30/D25/E10 (no table found)"}


def label(status: DecisionStatus | str) -> str:
    return _LABELS.get(DecisionStatus(status), str(status))


def ects(value: Decimal | float | None) -> str:
    if value is None:
        return "–"
    return f"{Decimal(str(value)).normalize():f}"


def esi(value: str) -> str:
    """The part of an ESI a person reads: ``<schac>:<code>`` of ``urn:schac:personalUniqueCode:int:esi:<schac>:<code>``."""
    prefix = "urn:schac:personalUniqueCode:int:esi:"
    return value.removeprefix(prefix)


def table(ref: TableRef) -> str:
    if ref.source is TableSource.ECTS_SCALE:
        return f"{ref.scheme_id} ({_SOURCES[ref.source]})"
    group = "all fields" if ref.reference_group in ("*", "") else f"ISCED {ref.reference_group}"
    scheme = ref.scheme_id if ref.scheme_id.startswith(ref.hei) else f"{ref.hei} {ref.scheme_id}"
    return f"{scheme}, {group}, {ref.academic_year} ({_SOURCES[ref.source]})"


def band(b: Band) -> str:
    return f"{b.label}: {b.lower:.4g}–{b.upper:.4g} % from the best"


_FIELDS = {"ects": "ECTS", "term_id": "term", "recognition_conditions": "recognition conditions", "isced_code": "ISCED code",
           "los_id": "LOS id", "loi_id": "LOI id"}


def field(name: str) -> str:
    """How a Learning Agreement component's field is named on a page."""
    return _FIELDS.get(name, name.replace("_", " "))


FILTERS = {"label": label, "ects": ects, "esi": esi, "table": table, "band": band, "field": field}
