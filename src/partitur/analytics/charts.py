"""Charts as PNG or SVG (matplotlib, Agg backend): funnel, KPI over time, process map and
anomaly timeline. Each function returns the image bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from partitur.analytics.contracts import (
    Alert,
    FunnelResult,
    KpiPoint,
    ProcessMap,
)
from partitur.analytics.paths import END, START
from partitur.core.errors import ValidationFailed

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


def _days(moments: Any) -> Any:
    """Matplotlib date numbers (days since 1970-01-01 UTC) of aware datetimes."""
    if isinstance(moments, datetime):
        return moments.timestamp() / 86400.0
    return np.array([m.timestamp() / 86400.0 for m in moments], dtype=float)


def _render(fig: Figure, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValidationFailed("chart format must be png or svg", field="format")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, bbox_inches="tight", dpi=110)
    return buffer.getvalue()


def funnel_chart(result: FunnelResult, fmt: str = "png", title: str = "Funnel") -> bytes:
    fig = Figure(figsize=(7, 0.7 * len(result.steps) + 1.2))
    ax = fig.subplots()
    labels = [s.label for s in result.steps][::-1]
    counts = [s.count for s in result.steps][::-1]
    bars = ax.barh(labels, counts, color="#3b6fb6")
    for bar, step in zip(bars, result.steps[::-1], strict=True):
        share = step.conversion_from_start
        text = f"{step.count:,}" + (f"  ({share:.0%})" if share is not None else "")
        ax.text(
            bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + text, va="center", fontsize=9
        )
    ax.set_xlabel("actors")
    ax.set_title(title)
    ax.set_xlim(0, max([*counts, 1]) * 1.25)
    return _render(fig, fmt)


def kpi_chart(points: Sequence[KpiPoint], fmt: str = "png", title: str = "Journey KPIs") -> bytes:
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    periods = _days([p.period for p in points])
    ax.plot(periods, [p.entered for p in points], marker="o", label="entered")
    ax.plot(periods, [p.converted for p in points], marker="o", label="converted")
    ax.set_ylabel("instances")
    ax.legend(loc="upper left")
    rate_ax = ax.twinx()
    rate_ax.plot(
        periods,
        [p.conversion_rate or 0 for p in points],
        color="grey",
        linestyle="--",
        label="conversion rate",
    )
    rate_ax.set_ylabel("conversion rate")
    rate_ax.set_ylim(0, 1)
    ax.xaxis_date()
    ax.set_title(title)
    fig.autofmt_xdate()
    return _render(fig, fmt)


def process_map_chart(
    pm: ProcessMap, fmt: str = "png", max_edges: int = 30, title: str = "Process map"
) -> bytes:
    """Nodes placed left to right by their mean position in the cases; edge width by count."""
    edges = pm.edges[:max_edges]
    names = [START] + [n.activity for n in pm.nodes] + [END]
    depth = {START: 0.0}
    # longest-path-ish layering from the edge list (few nodes: a handful of relaxations)
    for _ in range(len(names)):
        for e in edges:
            if e.source in depth and e.target != START and e.target not in depth:
                depth[e.target] = depth[e.source] + 1
    last = max(depth.values(), default=0) + 1
    depth[END] = last
    layers: dict[float, list[str]] = {}
    for name in names:
        layers.setdefault(depth.get(name, last - 0.5), []).append(name)
    pos: dict[str, tuple[float, float]] = {}
    for x, members in layers.items():
        for i, name in enumerate(members):
            pos[name] = (x, i - (len(members) - 1) / 2)
    fig = Figure(figsize=(max(6, 1.8 * (last + 1)), 4.5))
    ax = fig.subplots()
    top = max((e.count for e in edges), default=1)
    for e in edges:
        if e.source not in pos or e.target not in pos:
            continue
        (x0, y0), (x1, y1) = pos[e.source], pos[e.target]
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "->",
                "lw": 0.5 + 4 * e.count / top,
                "color": "#3b6fb6",
                "alpha": 0.7,
                "connectionstyle": "arc3,rad=0.15",
            },
        )
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.08, f"{e.count:,}", fontsize=7, ha="center")
    counts = {n.activity: n.events for n in pm.nodes}
    for name, (x, y) in pos.items():
        label = name if name in (START, END) else f"{name}\n{counts.get(name, 0):,}"
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": "#eef3fb", "ec": "#3b6fb6"},
        )
    ax.set_xlim(-0.7, last + 0.7)
    ys = [y for _, y in pos.values()] or [0]
    ax.set_ylim(min(ys) - 1, max(ys) + 1)
    ax.axis("off")
    ax.set_title(title)
    return _render(fig, fmt)


def anomaly_chart(
    hours: Sequence[datetime],
    observed: Sequence[float],
    expected: Sequence[float | None],
    alerts: Sequence[Alert],
    fmt: str = "png",
    title: str = "Event volume",
) -> bytes:
    fig = Figure(figsize=(9, 3.5))
    ax = fig.subplots()
    x = _days(list(hours))
    ax.xaxis_date()
    ax.plot(x, observed, label="observed", lw=1)
    exp = np.array([np.nan if v is None else v for v in expected], dtype=float)
    ax.plot(x, exp, label="expected", lw=1, linestyle="--", color="grey")
    colors: dict[str, Any] = {"rise": "#d98b00", "drop": "#c0392b", "missing": "#7d3c98"}
    for alert in alerts:
        at = float(_days(alert.hour))
        ax.axvline(at, color=colors.get(alert.kind, "#555"), alpha=0.6, lw=1.5)
        ax.text(at, ax.get_ylim()[1] * 0.95, alert.kind, rotation=90, fontsize=7, va="top")
    ax.set_ylabel("events per hour")
    ax.legend(loc="upper left")
    ax.xaxis_date()
    ax.set_title(title)
    fig.autofmt_xdate()
    return _render(fig, fmt)
