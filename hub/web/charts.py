"""The monitor's charts as SVG, drawn here from the numbers (no chart library, nothing copied).

Each function returns markup that is safe to embed: every label passes through
``markupsafe.escape``.  Sizes are in user units; the SVGs scale with the page.
"""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup, escape

from schemas.institutions import SCHAC_CODES

from .readmodel import FUNNEL, MonitorData

__all__ = ["ects_bars", "flow_matrix", "funnel_bars"]

_STAGE_LABEL = {"NOMINATED": "nominated", "LA_APPROVED": "LA approved", "STARTED": "started", "ENDED": "ended",
                "TOR_ISSUED": "ToR issued", "RECOGNISED": "recognised"}


def _short(hei: str) -> str:
    return hei.split(".")[0]


def flow_matrix(data: MonitorData) -> Markup:
    """Outgoing (rows, sending) × incoming (columns, receiving) mobilities, shaded by count."""
    cell, left, top = 44, 96, 70
    n = len(SCHAC_CODES)
    peak = max(data.flows.values(), default=0) or 1
    w, h = left + n * cell + 8, top + n * cell + 8
    out = [f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="mobilities from sending (rows) to receiving (columns) partner">']
    for j, hei in enumerate(SCHAC_CODES):
        x = left + j * cell + cell / 2
        out.append(f'<text class="axis" x="{x}" y="{top - 8}" transform="rotate(-45 {x} {top - 8})">{escape(_short(hei))}</text>')
    for i, sending in enumerate(SCHAC_CODES):
        y = top + i * cell
        out.append(f'<text class="axis" x="{left - 6}" y="{y + cell / 2 + 4}" text-anchor="end">{escape(_short(sending))}</text>')
        for j, receiving in enumerate(SCHAC_CODES):
            count = data.flows.get((sending, receiving), 0)
            x = left + j * cell
            shade = 0.08 + 0.92 * count / peak if count else 0.0
            out.append(
                f'<g><title>{escape(sending)} → {escape(receiving)}: {count}</title>'
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" rx="3" class="cell" fill-opacity="{shade:.2f}"/>'
                f'<text class="num{" dark" if shade > 0.55 else ""}" x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" text-anchor="middle" '
                f'data-flow="{escape(sending)}|{escape(receiving)}">{count or ""}</text></g>'
            )
    out.append("</svg>")
    return Markup("".join(out))


def funnel_bars(data: MonitorData) -> Markup:
    """Mobilities that reached each lifecycle stage, as horizontal bars."""
    row, left, width = 30, 110, 420
    peak = max(data.funnel.values(), default=0) or 1
    h = row * len(FUNNEL) + 10
    out = [f'<svg class="chart" viewBox="0 0 {left + width + 60} {h}" role="img" aria-label="status funnel">']
    for i, stage in enumerate(FUNNEL):
        count = data.funnel.get(stage, 0)
        y = 5 + i * row
        bar = width * count / peak
        out.append(
            f'<text class="axis" x="{left - 8}" y="{y + 17}" text-anchor="end">{_STAGE_LABEL[stage.value]}</text>'
            f'<rect class="bar" x="{left}" y="{y + 3}" width="{bar:.1f}" height="{row - 8}" rx="2"/>'
            f'<text class="num" x="{left + bar + 6:.1f}" y="{y + 17}" data-stage="{stage.value}">{count}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def ects_bars(data: MonitorData, limit: int = 24) -> Markup:
    """ECTS planned (Table B, light) and recognised (dark) per partner pair, largest plans first."""
    pairs = sorted(data.ects.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
    if not pairs:
        return Markup('<p class="muted">No mobilities yet.</p>')
    row, left, width = 24, 170, 380
    peak = max((float(max(p, r)) for _, (p, r) in pairs), default=0.0) or 1.0
    h = row * max(len(pairs), 1) + 10
    out = [f'<svg class="chart" viewBox="0 0 {left + width + 110} {h}" role="img" aria-label="ECTS planned and recognised per partner pair">']
    for i, ((sending, receiving), (planned, recognised)) in enumerate(pairs):
        y = 5 + i * row
        wp, wr = width * float(planned) / peak, width * float(recognised) / peak
        out.append(
            f'<text class="axis" x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(_short(sending))} → {escape(_short(receiving))}</text>'
            f'<rect class="bar planned" x="{left}" y="{y + 2}" width="{wp:.1f}" height="{row - 6}" rx="2"/>'
            f'<rect class="bar" x="{left}" y="{y + 6}" width="{wr:.1f}" height="{row - 14}" rx="2"/>'
            f'<text class="num" x="{left + max(wp, wr) + 6:.1f}" y="{y + 15}">{_ects(recognised)} / {_ects(planned)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _ects(value: Decimal) -> str:
    return f"{value.normalize():f}" if value else "0"
