"""Pictures of a journey map: the swimlane map with its emotional curve, and the
prioritisation matrix of its insights (SVG or PNG, matplotlib's Agg backend)."""

from __future__ import annotations

import io
import textwrap
from typing import Literal

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from partitur.journey_maps.contracts import (
    JourneyMapDocument,
    MapMeasurement,
    RankedInsight,
    Taxonomy,
)

ImageFormat = Literal["svg", "png"]
LANES = [
    ("Touchpoints", "#e8f1fb"),
    ("Needs", "#f3f7ec"),
    ("Pain points", "#fdecea"),
    ("Opportunities", "#eaf7f1"),
]
DESIGNED, MEASURED = "#1f5fa8", "#d9822b"


def _save(fig: Figure, fmt: ImageFormat) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(
        buffer,
        format=fmt,
        dpi=110,
        bbox_inches="tight",
        metadata={"Date": None} if fmt == "svg" else None,
    )
    return buffer.getvalue()


def _lines(items: list[str], width: int, limit: int = 6) -> str:
    shown = ["• " + textwrap.shorten(i, width=width * 2, placeholder="…") for i in items[:limit]]
    if len(items) > limit:
        shown.append(f"+{len(items) - limit} more")
    return "\n".join(textwrap.fill(s, width=width, subsequent_indent="  ") for s in shown)


def render_map(
    document: JourneyMapDocument,
    taxonomy: Taxonomy,
    measurement: MapMeasurement | None = None,
    *,
    fmt: ImageFormat = "svg",
) -> bytes:
    """The map as lanes per stage, with the designed (and, if given, measured) emotional curve."""
    names = {s.key: s.name for s in taxonomy.stages}
    stages = document.stages
    n = max(len(stages), 1)
    fig = Figure(figsize=(max(3.2 * n, 8), 9.5))
    grid = fig.add_gridspec(2, 1, height_ratios=[3.2, 1.3], hspace=0.08)
    lanes = fig.add_subplot(grid[0])
    lanes.set_xlim(0, n)
    lanes.set_ylim(0, len(LANES))
    lanes.axis("off")
    measured = {s.stage: s for s in measurement.stages} if measurement else {}
    for row, (label, colour) in enumerate(LANES):
        y = len(LANES) - row - 1
        lanes.add_patch(Rectangle((0, y), n, 1, color=colour, zorder=0))
        lanes.text(
            -0.05,
            y + 0.5,
            label,
            ha="right",
            va="center",
            fontsize=10,
            fontweight="bold",
            color="#333",
        )
    for i, stage in enumerate(stages):
        title = names.get(stage.key, stage.key)
        m = measured.get(stage.key)
        if m is not None and not m.measured:
            title += "\nnot measured"
        elif m is not None:
            conv = (
                f" · {m.conversion_to_next:.0%} → next" if m.conversion_to_next is not None else ""
            )
            title += f"\n{m.customers:,} customers{conv}"
        lanes.text(
            i + 0.5,
            len(LANES) + 0.08,
            title,
            ha="center",
            va="bottom",
            fontsize=10,
            fontweight="bold",
            color="#1b2a3a",
        )
        contents = [
            [f"{t.name} ({t.channel})" if t.channel else t.name for t in stage.touchpoints],
            stage.needs,
            [f"{p.title} [sev {p.severity}]" for p in stage.pain_points],
            [o.title for o in stage.opportunities],
        ]
        for row, items in enumerate(contents):
            y = len(LANES) - row - 1
            lanes.text(
                i + 0.05,
                y + 0.93,
                _lines(items, 34),
                ha="left",
                va="top",
                fontsize=7.5,
                color="#222",
                linespacing=1.25,
            )
        if i:
            lanes.axvline(i, color="white", linewidth=3)
    curve = fig.add_subplot(grid[1])
    xs = [i + 0.5 for i in range(len(stages))]
    designed = [s.emotion for s in stages]
    points = [(x, e) for x, e in zip(xs, designed, strict=True) if e is not None]
    if points:
        curve.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            "-o",
            color=DESIGNED,
            linewidth=2.2,
            label="designed emotion",
        )
    if measurement:
        mpoints = [
            (x, measured[s.key].measured_emotion)
            for x, s in zip(xs, stages, strict=True)
            if s.key in measured and measured[s.key].measured_emotion is not None
        ]
        if mpoints:
            curve.plot(
                [p[0] for p in mpoints],
                [float(p[1] or 0.0) for p in mpoints],
                "--s",
                color=MEASURED,
                linewidth=2.2,
                label="measured (satisfaction, sentiment)",
            )
    curve.axhline(0, color="#999", linewidth=0.8)
    curve.set_xlim(0, n)
    curve.set_ylim(-2.3, 2.3)
    curve.set_yticks(
        [-2, -1, 0, 1, 2], ["-2 very negative", "-1", "0", "+1", "+2 very positive"], fontsize=8
    )
    curve.set_xticks(xs, [names.get(s.key, s.key) for s in stages], fontsize=8)
    curve.set_ylabel("emotion")
    curve.grid(axis="y", alpha=0.3)
    if points or measurement:
        curve.legend(loc="lower right", fontsize=8, frameon=False)
    fig.suptitle(
        f"{document.name}  ({document.state.value.replace('_', '-')}, {document.status.value})",
        fontsize=13,
        fontweight="bold",
        y=0.995,
    )
    return _save(fig, fmt)


def render_matrix(insights: list[RankedInsight], *, title: str, fmt: ImageFormat = "svg") -> bytes:
    """Impact (measured) against effort, one dot per pain point/opportunity, with quadrants."""
    fig = Figure(figsize=(8, 6))
    ax = fig.subplots()
    impacts = sorted(i.impact for i in insights)
    split = impacts[len(impacts) // 2] if impacts else 0.0
    top = max(impacts, default=1.0) * 1.15 or 1.0
    ax.axvline(3.5, color="#bbb", linewidth=1)
    ax.axhline(split, color="#bbb", linewidth=1)
    for label, x, y in (
        ("quick wins", 1.0, top * 0.97),
        ("major projects", 5.4, top * 0.97),
        ("fill-ins", 1.0, 0.02 * top),
        ("thankless tasks", 5.4, 0.02 * top),
    ):
        ax.text(
            x,
            y,
            label,
            fontsize=9,
            color="#888",
            ha="left" if x < 3 else "right",
            va="top" if y > split else "bottom",
        )
    for item in insights:
        colour = "#c0392b" if item.kind == "pain_point" else "#1e8449"
        ax.scatter(
            item.effort,
            item.impact,
            s=60 + 40 * item.severity,
            color=colour,
            alpha=0.75,
            edgecolors="white",
        )
        ax.annotate(
            textwrap.shorten(item.title, 28, placeholder="…"),
            (item.effort, item.impact),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=7.5,
        )
    ax.set_xlim(0.5, 5.5)
    ax.set_ylim(0, top)
    ax.set_xlabel("effort (1 = small, 5 = large)")
    ax.set_ylabel("impact = affected × drop-off × value × severity/5")
    ax.set_title(title, fontsize=12, fontweight="bold")
    ax.scatter([], [], color="#c0392b", label="pain point")
    ax.scatter([], [], color="#1e8449", label="opportunity")
    ax.legend(loc="upper center", fontsize=8, frameon=False, ncol=2)
    return _save(fig, fmt)
