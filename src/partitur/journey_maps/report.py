"""The journey map as a report for people: Markdown or HTML, with measured KPIs and insights."""

from __future__ import annotations

import base64
import html

from partitur.core.clock import isoformat
from partitur.journey_maps.contracts import (
    JourneyMapDocument,
    MapMeasurement,
    RankedInsight,
    Taxonomy,
)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown_report(
    document: JourneyMapDocument,
    taxonomy: Taxonomy,
    measurement: MapMeasurement | None = None,
    insights: list[RankedInsight] | None = None,
) -> str:
    names = {s.key: s.name for s in taxonomy.stages}
    out = [f"# {document.name}", ""]
    if document.description:
        out += [document.description, ""]
    meta = [f"state: {document.state.value}", f"status: {document.status.value}"]
    meta += [
        f"{f}: {getattr(document, f)}"
        for f in ("owner", "market", "segment", "persona")
        if getattr(document, f)
    ]
    out += ["*" + " · ".join(meta) + "*", ""]
    if measurement:
        out += [
            f"## Measured {isoformat(measurement.since)} – {isoformat(measurement.until)}",
            "",
            "| stage | customers | conversion to next | drop-off | satisfaction (0-100) "
            "| sentiment | emotion designed | emotion measured |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in measurement.stages:
            if not s.measured:
                out.append(f"| {s.name} | not measured | – | – | – | – | – | – |")
                continue
            out.append(
                f"| {s.name} | {s.customers:,} | {_pct(s.conversion_to_next)} | {_pct(s.drop_off)}"
                f" | {_num(s.satisfaction)} | {_num(s.sentiment, 2)} | {_num(s.designed_emotion)}"
                f" | {_num(s.measured_emotion)} |"
            )
        out.append("")
    for stage in document.stages:
        out += [f"## {names.get(stage.key, stage.key)}", ""]
        if stage.touchpoints:
            out.append("**Touchpoints**")
            out += [
                f"- {t.name}"
                + (f" — {t.channel}" if t.channel else "")
                + (f", owner {t.owner}" if t.owner else "")
                for t in stage.touchpoints
            ]
            out.append("")
        for label, items in (
            ("Needs", stage.needs),
            ("Jobs to be done", stage.jobs_to_be_done),
            ("Interactions", stage.interactions),
            ("Fears", stage.fears),
            ("Abandonment reasons", stage.abandonment_reasons),
            ("Staff knowledge", stage.staff_knowledge),
        ):
            if items:
                out += [f"**{label}**"] + [f"- {i}" for i in items] + [""]
        for label, insight_items in (
            ("Pain points", stage.pain_points),
            ("Opportunities", stage.opportunities),
        ):
            if insight_items:
                out.append(f"**{label}**")
                out += [
                    f"- {i.title} (severity {i.severity}, effort {i.effort}, {i.status.value})"
                    for i in insight_items
                ]
                out.append("")
        if stage.kpis:
            out += (
                ["**KPIs**"]
                + [
                    f"- {k.name}"
                    + (f": target {k.target:g}{k.unit}" if k.target is not None else "")
                    for k in stage.kpis
                ]
                + [""]
            )
    if insights:
        out += [
            "## Prioritised insights",
            "",
            "| # | insight | stage | affected | drop-off | impact | effort | quadrant |",
            "|---:|---|---|---:|---:|---:|---:|---|",
        ]
        for n, i in enumerate(insights, start=1):
            out.append(
                f"| {n} | {i.title} | {names.get(i.stage, i.stage)} | "
                f"{i.affected_customers:,} | {_pct(i.drop_off)} | {i.impact:,.0f} | "
                f"{i.effort} | {i.quadrant.replace('_', ' ')} |"
            )
        out.append("")
    return "\n".join(out)


def html_report(
    document: JourneyMapDocument,
    taxonomy: Taxonomy,
    measurement: MapMeasurement | None = None,
    insights: list[RankedInsight] | None = None,
    *,
    map_png: bytes | None = None,
) -> str:
    """A self-contained HTML page: the rendered map (embedded PNG) and the report tables."""
    import markdown_it

    body = (
        markdown_it.MarkdownIt("commonmark")
        .enable("table")
        .render(markdown_report(document, taxonomy, measurement, insights))
    )
    picture = ""
    if map_png:
        data = base64.b64encode(map_png).decode()
        picture = f'<img alt="journey map" src="data:image/png;base64,{data}">'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(document.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1b2a3a; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #d5dde6; padding: .35rem .6rem; }}
th {{ background: #eef3f8; }}
img {{ max-width: 100%; border: 1px solid #e2e8ef; }}
</style></head><body>
{picture}
{body}
</body></html>
"""
