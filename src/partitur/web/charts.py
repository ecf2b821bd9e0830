"""Inline SVG charts rendered on the server (no JavaScript, no chart library)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html import escape

#: Colours for series, in order; readable on white and distinct for the usual sources.
PALETTE = (
    "#4f46e5",
    "#0ea5e9",
    "#10b981",
    "#f59e0b",
    "#ef4444",
    "#8b5cf6",
    "#ec4899",
    "#14b8a6",
    "#64748b",
)


@dataclass(frozen=True)
class Series:
    name: str
    color: str


def series_for(names: list[str]) -> list[Series]:
    return [Series(n, PALETTE[k % len(PALETTE)]) for k, n in enumerate(names)]


def _nice_max(value: int) -> int:
    """The smallest 1/2/5 x 10^k at or above ``value`` (at least 1)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _short(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000:
        return f"{n / 1_000:g}k"
    return str(n)


def stacked_bars(
    days: list[date],
    values: list[dict[str, int]],
    series: list[Series],
    *,
    width: int = 760,
    height: int = 240,
    title: str = "Events per day",
) -> str:
    """A stacked bar chart, one bar per day, one colour per series; returns SVG markup."""
    left, right, top, bottom = 44, 8, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(v.values()) for v in values]
    top_value = _nice_max(max(totals, default=0))
    n = max(len(days), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.72, 1.0)
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for k in range(5):
        v = top_value * k // 4
        y = top + plot_h - plot_h * k / 4
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{_short(v)}</text>'
        )
    for i, (day, by) in enumerate(zip(days, values, strict=True)):
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h
        tip = [f"{day.isoformat()}: {sum(by.values()):,} events"]
        rects = []
        for s in series:
            count = by.get(s.name, 0)
            if not count:
                continue
            h = plot_h * count / top_value
            y -= h
            rects.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{s.color}"/>'
            )
            tip.append(f"{s.name} {count:,}")
        out.append(f"<g><title>{escape(chr(10).join(tip))}</title>{''.join(rects)}</g>")
        if i % 7 == 0:
            out.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{height - 8}" '
                f'text-anchor="middle">{day.strftime("%d %b")}</text>'
            )
    out.append("</svg>")
    return "".join(out)


_SVG_ROOT = re.compile(r"<svg\b[^>]*>", re.S)
_SIZE = re.compile(r'\s(?:width|height)="[^"]*"')


def inline_svg(document: bytes, *, title: str, min_width: int = 560) -> str:
    """An SVG file (e.g. a matplotlib picture from analytics or journey maps) as markup to put
    inside a page: the XML prolog and doctype dropped, the fixed size replaced by the ``chart``
    class (full width of its ``chart-wrap``, scrolling below ``min_width`` pixels), and an
    accessible name. Raises ``ValueError`` when the bytes hold no ``<svg>`` element."""
    text = document.decode("utf-8")
    root = _SVG_ROOT.search(text)
    if root is None:
        raise ValueError("not an SVG document")
    attributes = _SIZE.sub("", root.group(0)[len("<svg") : -1])
    tag = (
        f'<svg class="chart" style="min-width: {int(min_width)}px" role="img" '
        f'aria-label="{escape(title)}"{attributes}>'
    )
    return tag + text[root.end() :]
