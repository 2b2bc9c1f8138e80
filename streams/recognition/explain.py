"""Sentences a registrar reads: how a grade was converted, what a decision says."""

from __future__ import annotations

from decimal import Decimal

from schemas.models import Band, ConversionMethod, RecognitionDecision, TableRef, TableSource

from .conversion import Converted

__all__ = ["conversion_clause", "decision_line", "explain_conversion", "fmt_ects", "table_name", "table_short"]

_SOURCE = {
    TableSource.FIELD: "field table",
    TableSource.INSTITUTION: "institution-wide table",
    TableSource.ECTS_SCALE: "fixed ECTS scale A10/B25/C30/D25/E10, no table found",
}


_ECTS: dict[str, str] = {}


def fmt_ects(value: Decimal | float | str) -> str:
    text = str(value)
    found = _ECTS.get(text)  # there are few distinct amounts
    if found is None:
        if len(_ECTS) > 1024:
            _ECTS.clear()
        found = _ECTS[text] = f"{Decimal(text).normalize():f}"
    return found


def table_name(ref: TableRef) -> str:
    """e.g. ``thomasmore.be/0-20, ISCED 0613, 2025/2026 (field table)``."""
    if ref.source is TableSource.ECTS_SCALE:
        return f"{ref.scheme_id} ({_SOURCE[ref.source]})"
    group = "all fields" if ref.reference_group == "*" else f"ISCED {ref.reference_group}"
    return f"{ref.scheme_id}, {group}, {ref.academic_year} ({_SOURCE[ref.source]})"


def table_short(ref: TableRef) -> str:
    """e.g. ``thomasmore.be ISCED 0613 2025/2026 (field)``, for reasons."""
    if ref.source is TableSource.ECTS_SCALE:
        return f"fixed ECTS scale on {ref.scheme_id}"
    group = "all fields" if ref.reference_group == "*" else f"ISCED {ref.reference_group}"
    kind = "field" if ref.source is TableSource.FIELD else "institution"
    return f"{ref.hei} {group} {ref.academic_year} ({kind})"


def _band(b: Band) -> str:
    return f"{b.lower:.4g}–{b.upper:.4g} %"


def conversion_clause(c: Converted | None, error: str = "") -> str:
    """A short clause for a decision's reason: how the home grade came about."""
    if c is None:
        return f"without a home grade (no conversion: {error})" if error else "without a home grade"
    conv = c.conversion
    if conv.method is ConversionMethod.PASS_FAIL:
        return "as a pass without a grade (the host result is pass/fail)"
    if conv.method is ConversionMethod.NONE:
        return f"without a home grade ({c.home_scheme_id} records recognised credits as pass/fail)"
    hosts = "; ".join(table_short(t) for t in dict.fromkeys(conv.host_tables or ()))
    if conv.method is ConversionMethod.BAND_OVERLAP:
        how = f"host band {_band(conv.host_bands[0])} overlaps home band {_band(conv.home_band)} most"
    else:
        how = f"the ECTS-weighted mean of the host bands' midpoints, {conv.point:.4g} %, lies in home band {_band(conv.home_band)}"
    return f"as {c.label} ({c.home_scheme_id}) via {conv.method.value}: {how} (tables: {hosts} → {table_short(conv.home_table)})"


def explain_conversion(c: Converted, host_hei: str, home_hei: str) -> str:
    """One paragraph for ``hub convert-grade``: the answer, the tables with their source, the bands, the method."""
    host = ", ".join(f"{h.label} ({h.scheme_id})" for h in c.hosts)
    conv = c.conversion
    if not c.passed:
        return (f"{host} is a failing grade at {host_hei}: failed results are not recognised, "
                f"so there is nothing to convert to {home_hei}.")
    if conv.method is ConversionMethod.NONE:
        return (f"{host} at {host_hei} is recognised at {home_hei} without a grade: {home_hei} records "
                f"recognised credits on its pass/fail scheme {c.home_scheme_id} and converts no grades.")
    if conv.method is ConversionMethod.PASS_FAIL:
        return (f"{host} at {host_hei} is a pass/fail result: it counts at {home_hei} as a pass "
                f"without a grade (method PASS_FAIL; no table needed).")
    lines = [f"{host} at {host_hei} converts to {c.label} at {home_hei} ({c.home_scheme_id})."]
    for ref, band in zip(conv.host_tables or (), conv.host_bands):
        lines.append(f"In the host table {table_name(ref)}, {band.label} covers the top {_band(band)} of passing grades.")
    home = conv.home_band
    if conv.method is ConversionMethod.BAND_OVERLAP:
        if c.overlap is None:
            lines.append(f"That band has no width (nobody got {conv.host_bands[0].label}), so its position "
                         f"{conv.point:.4g} % decides: in the home table {table_name(conv.home_table)} it lies in "
                         f"{home.label} ({_band(home)}).")
        else:
            lines.append(f"In the home table {table_name(conv.home_table)}, {home.label} covers {_band(home)}, "
                         f"the band that overlaps it most ({c.overlap:.4g} points; a tie would go to the better grade).")
        lines.append("Method BAND_OVERLAP (ECTS Users' Guide 2015 / Egracons).")
    else:
        lines.append(f"The ECTS-weighted mean of the host bands' midpoints is {conv.point:.4g} %; in the home table "
                     f"{table_name(conv.home_table)} it lies in {home.label} ({_band(home)}; a point on a boundary goes "
                     f"to the better grade). Method WEIGHTED_MIDPOINT.")
    return " ".join(lines)


def decision_line(d: RecognitionDecision) -> str:
    """One line for ``hub decide --explain``."""
    title = f" ({d.home_component_title})" if d.home_component_title else ""
    grade = f", grade {d.converted_grade}" if d.converted_grade else ""
    return (f"{d.omobility_id} {d.home_component}{title}: {d.status.value} v{d.version}, "
            f"{fmt_ects(d.ects)} ECTS{grade} [{d.rule}] — {d.reason}")
