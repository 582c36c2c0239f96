"""Charts as inline SVG, drawn on the server so the page, the HTML file and the PDF show the same.

Each chart is an `<svg role="img">` named by its `<title>`, with the figures written beside the
bars; the report also gives every figure in a table. Presentation attributes only (no `style`), so
the web app's content security policy lets them through.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1d4e89", "#b35c00", "#2e7d32", "#8e24aa", "#a4161a", "#00695c")
FONT = 'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="12" fill="#1a1a1a"'
WIDTH = 680


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def _open(chart_id: str, title: str, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="{chart_id}-t" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" width="100%" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
    ]


def _bar(x: float, y: float, w: float, h: float, index: int, label: str) -> str:
    """One bar, its colour by series, and its figure as a tooltip."""
    colour = PALETTE[index % len(PALETTE)]
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colour}">'
        f"<title>{escape(label)}</title></rect>"
    )


def _legend(series: Sequence[Series], y: float, x: float = 10) -> tuple[list[str], float]:
    """Swatches and names, wrapped over as many lines as they need; returns the parts and the height."""
    parts: list[str] = []
    cursor, line = x, 0
    for i, s in enumerate(series):
        width = 22 + 7.2 * len(s.name)
        if cursor + width > WIDTH - 10 and cursor > x:
            cursor, line = x, line + 1
        top = y + line * 18
        parts.append(
            f'<rect x="{cursor:.1f}" y="{top:.1f}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        parts.append(f'<text x="{cursor + 16:.1f}" y="{top + 10:.1f}" {FONT}>{escape(s.name)}</text>')
        cursor += width + 10
    return parts, (line + 1) * 18


def diverging(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str],
    hidden: str,
) -> str:
    """Horizontal bars around zero, one block per label and one bar per series (improvements)."""
    left, right = 190, WIDTH - 60
    peak = max([abs(v) for s in series for v in s.values if v is not None] or [1.0])
    limit = float(max(1, math.ceil(peak)))  # whole points of the scale: ticks fall on them
    zero = left + (right - left) / 2
    scale = (right - left) / 2 / limit
    legend, legend_h = _legend(series, 6)
    bar, gap = 11, 3
    block = len(series) * (bar + gap) + 12
    top = legend_h + 14
    height = top + block * len(labels) + 28
    parts = _open(chart_id, title, height) + legend
    step = 1 if limit <= 4 else 2
    ticks = [float(k) for k in range(-int(limit), int(limit) + 1, step)]
    for tick in ticks:
        x = zero + tick * scale
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{height - 22:.0f}" stroke="#d0d4da"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 8:.0f}" text-anchor="middle" {FONT}>{escape(fmt(tick))}</text>')
    parts.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top - 4}" y2="{height - 22:.0f}" stroke="#333"/>')
    for row, label in enumerate(labels):
        y0 = top + row * block
        parts.append(f'<text x="{left - 8}" y="{y0 + block / 2:.1f}" text-anchor="end" {FONT}>{escape(label)}</text>')
        values = [s.values[row] for s in series]
        if all(v is None for v in values):
            parts.append(
                f'<text x="{zero + 6:.1f}" y="{y0 + block / 2:.1f}" {FONT} font-style="italic">{escape(hidden)}</text>'
            )
            continue
        for i, value in enumerate(values):
            if value is None:
                continue
            y = y0 + i * (bar + gap)
            x, w = (zero, value * scale) if value >= 0 else (zero + value * scale, -value * scale)
            parts.append(_bar(x, y, max(w, 1), bar, i, f"{series[i].name}: {fmt(value)}"))
            tx = x + w + 4 if value >= 0 else x - 4
            anchor = "start" if value >= 0 else "end"
            parts.append(
                f'<text x="{tx:.1f}" y="{y + bar - 1:.1f}" text-anchor="{anchor}" {FONT} font-size="10">'
                f"{escape(fmt(value))}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def stacked(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str],
    hidden: str,
) -> str:
    """Horizontal stacked bars, one per label (e.g. messages at once and held per person-week)."""
    left, right = 190, WIDTH - 70
    totals = [sum(s.values[i] or 0.0 for s in series) for i in range(len(labels))]
    peak = max(totals or [1.0]) or 1.0
    scale = (right - left) / peak
    legend, legend_h = _legend(series, 6)
    bar, block = 18, 28
    top = legend_h + 14
    height = top + block * len(labels) + 6
    parts = _open(chart_id, title, height) + legend
    for row, label in enumerate(labels):
        y = top + row * block
        parts.append(f'<text x="{left - 8}" y="{y + 13:.1f}" text-anchor="end" {FONT}>{escape(label)}</text>')
        if all(s.values[row] is None for s in series):
            parts.append(f'<text x="{left + 4}" y="{y + 13:.1f}" {FONT} font-style="italic">{escape(hidden)}</text>')
            continue
        x = float(left)
        for i, s in enumerate(series):
            value = s.values[row] or 0.0
            w = value * scale
            parts.append(_bar(x, y, max(w, 0), bar, i, f"{s.name}: {fmt(value)}"))
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 13:.1f}" {FONT}>{escape(fmt(totals[row]))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def columns(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    low: float,
    high: float,
    fmt: Callable[[float], str],
    hidden: str,
) -> str:
    """Vertical grouped columns on a fixed scale (a Likert mean from `low` to `high`)."""
    left, bottom = 40, 40
    legend, legend_h = _legend(series, 6)
    top = legend_h + 16
    plot_h = 200
    height = top + plot_h + bottom
    band = (WIDTH - left - 10) / max(1, len(categories))
    col = min(40.0, (band - 16) / max(1, len(series)))
    parts = _open(chart_id, title, height) + legend

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    for k in range(int(low), int(high) + 1):
        parts.append(f'<line x1="{left}" x2="{WIDTH - 10}" y1="{y(k):.1f}" y2="{y(k):.1f}" stroke="#d0d4da"/>')
        parts.append(f'<text x="{left - 6}" y="{y(k) + 4:.1f}" text-anchor="end" {FONT}>{k}</text>')
    for c, category in enumerate(categories):
        x0 = left + c * band + (band - col * len(series)) / 2
        for i, s in enumerate(series):
            value = s.values[c]
            x = x0 + i * col
            if value is None:
                parts.append(
                    f'<text x="{x + col / 2:.1f}" y="{y(low) - 4:.1f}" text-anchor="middle" {FONT}>–'
                    f"<title>{escape(s.name)}: {escape(hidden)}</title></text>"
                )
                continue
            parts.append(_bar(x, y(value), col - 3, y(low) - y(value), i, f"{s.name}: {fmt(value)}"))
            parts.append(
                f'<text x="{x + (col - 3) / 2:.1f}" y="{y(value) - 3:.1f}" text-anchor="middle" {FONT} '
                f'font-size="10">{escape(fmt(value))}</text>'
            )
        parts.append(
            f'<text x="{left + c * band + band / 2:.1f}" y="{top + plot_h + 18:.1f}" text-anchor="middle" {FONT}>'
            f"{escape(category)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
