"""``partitur analytics``: journey KPIs, funnels, paths, experiments, attribution, scores and
the data-quality monitor. Every command prints a table, or JSON with ``--json``; most also
write CSV (``--csv FILE``) and charts (``--chart FILE.png|.svg``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from partitur.analytics import service as analytics
from partitur.analytics.contracts import FunnelSpec, MonitorConfig, ProcessMap
from partitur.analytics.service import AnalyticsEngine, open_engine
from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, err_console, open_context
from partitur.core.actions import Actor
from partitur.core.clock import parse_iso8601
from partitur.core.durations import parse_duration
from partitur.core.errors import ValidationFailed

app = typer.Typer(
    rich_markup_mode=None,
    help="Journey analytics, experiments and data-quality monitoring.",
    no_args_is_help=True,
)
monitor_app = typer.Typer(
    rich_markup_mode=None, help="The data-quality monitor and its alerts.", no_args_is_help=True
)
app.add_typer(monitor_app, name="monitor")

CsvOpt = typer.Option(None, "--csv", help="Also write the rows as CSV to this file.")
ChartOpt = typer.Option(None, "--chart", help="Also draw a chart to this .png or .svg file.")
StartOpt = typer.Option(None, help="Only from this ISO 8601 time (inclusive).")
EndOpt = typer.Option(None, help="Only before this ISO 8601 time.")


def _time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso8601(value)
    except ValueError as exc:
        raise ValidationFailed(f"not an ISO 8601 time: {value}", field=field) from exc


def _duration(value: str, field: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValidationFailed(f"not an ISO 8601 duration: {value}", field=field) from exc


def _chart(path: Path | None, draw: Any) -> None:
    if path is None:
        return
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in analytics.CHART_FORMATS:
        raise ValidationFailed("the chart file must end in .png or .svg", field="--chart")
    path.write_bytes(draw(fmt))
    err_console.print(f"chart written to {path}", style="dim")


def _csv(path: Path | None, rows: Any) -> None:
    if path is not None:
        path.write_text(analytics.to_csv(rows))


def _print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    """Result rows as a table; each value shown by what its column holds (``cli.format``)."""
    if not rows:
        console.print(f"{title}: nothing yet")
        return
    names = list(rows[0])
    table = fmt.table(*(str(name).replace("_", " ") for name in names), title=title)
    for row in rows:
        table.add_row(*[fmt.cell(str(name), row.get(name)) for name in names])
    console.print(table)


def _print_figures(title: str, figures: dict[str, Any], label: str = "figure") -> None:
    """Named figures as a two-column table, each value shown by what its name says it is."""
    table = fmt.table(label, "value", title=title)
    for name, value in figures.items():
        table.add_row(name.replace("_", " "), fmt.cell(name, value))
    console.print(table)


def _journey(value: str) -> str:
    """A journey id, also when given its key (``cart-abandonment``)."""
    ctx = open_context()
    with ctx.store.read() as conn:
        return analytics.journey_id_of(conn, workspace_id=ctx.workspace_id, value=value)


def _engine() -> AnalyticsEngine:
    ctx = open_context()
    return AnalyticsEngine(ctx.store, ctx.workspace_id)


@app.command("kpis")
def kpis_command(
    journey_id: str = typer.Argument(..., help="Journey id or key"),
    version: int | None = typer.Option(None, help="Only this version"),
    start: str | None = StartOpt,
    end: str | None = EndOpt,
    inactive_after: str = typer.Option("P7D", help="ISO 8601 duration without a transition"),
    json: bool = JsonOpt,
    csv: Path | None = CsvOpt,
) -> None:
    """KPI summary and per-node figures of a journey."""
    journey_id = _journey(journey_id)
    ctx = open_context()
    with ctx.store.read() as conn:
        costs = analytics.get_config(conn, workspace_id=ctx.workspace_id).channel_costs
    with (
        fmt.working("measuring the journey", quiet=json),
        open_engine(ctx.store, ctx.workspace_id) as engine,
    ):
        summary = analytics.journey_kpis(
            engine,
            journey_id=journey_id,
            version=version,
            start=_time(start, "start"),
            end=_time(end, "end"),
            channel_costs=costs,
            now=ctx.clock.now(),
            inactive_after=_duration(inactive_after, "inactive_after"),
        )
        nodes = analytics.node_kpis(
            engine,
            journey_id=journey_id,
            version=version,
            start=_time(start, "start"),
            end=_time(end, "end"),
            channel_costs=costs,
        )
    _csv(csv, nodes)
    if json:
        emit_json(
            {
                "summary": summary.model_dump(mode="json"),
                "nodes": [n.model_dump(mode="json") for n in nodes],
            }
        )
        return
    flat = summary.model_dump(exclude={"exited_by_reason"})
    flat["exited_by_reason"] = ", ".join(f"{r.reason}: {r.count}" for r in summary.exited_by_reason)
    _print_figures(f"journey {journey_id}", flat, label="kpi")
    _print_rows("nodes", [n.model_dump() for n in nodes])


@app.command("timeseries")
def timeseries_command(
    journey_id: str = typer.Argument(..., help="Journey id or key"),
    version: int | None = typer.Option(None, help="Only this version"),
    interval: str = typer.Option("day", help="hour, day, week or month"),
    start: str | None = StartOpt,
    end: str | None = EndOpt,
    json: bool = JsonOpt,
    csv: Path | None = CsvOpt,
    chart: Path | None = ChartOpt,
) -> None:
    """Entered and converted instances over time."""
    journey_id = _journey(journey_id)
    engine = _engine()
    try:
        points = analytics.kpi_timeseries(
            engine,
            journey_id=journey_id,
            version=version,
            start=_time(start, "start"),
            end=_time(end, "end"),
            interval=interval,
        )
    finally:
        engine.close()
    _csv(csv, points)
    _chart(chart, lambda fmt: analytics.kpi_chart(points, fmt, title=journey_id))
    if json:
        emit_json(points)
    else:
        _print_rows(f"journey {journey_id} by {interval}", [p.model_dump() for p in points])


@app.command("funnel")
def funnel_command(
    step: list[str] = typer.Option(None, "--step", help="Event name of a step (repeat, in order)"),
    spec_file: Path | None = typer.Option(
        None,
        "--spec",
        help="A funnel spec as JSON (steps with conditions, window, order, breakdown)",
    ),
    window: str = typer.Option("P7D", help="Conversion window (ISO 8601 duration)"),
    order: str = typer.Option("relaxed", help="relaxed or strict"),
    breakdown: str | None = typer.Option(None, help="Break down by this property of step 1"),
    start: str | None = StartOpt,
    end: str | None = EndOpt,
    json: bool = JsonOpt,
    csv: Path | None = CsvOpt,
    chart: Path | None = ChartOpt,
) -> None:
    """An ordered funnel over the event log."""
    if spec_file is not None:
        spec = FunnelSpec.model_validate_json(spec_file.read_text())
    else:
        spec = FunnelSpec.model_validate(
            {
                "steps": [{"event": s} for s in step or []],
                "window_seconds": int(_duration(window, "window").total_seconds()),
                "order": order,
                "breakdown": breakdown,
                "start": _time(start, "start"),
                "end": _time(end, "end"),
            }
        )
    engine = _engine()
    try:
        with fmt.working("counting the funnel", quiet=json):
            result = analytics.funnel(engine, spec)
    finally:
        engine.close()
    _csv(csv, analytics.funnel_rows(result))
    _chart(chart, lambda fmt: analytics.funnel_chart(result, fmt))
    if json:
        emit_json(result)
    else:
        _print_rows("funnel", analytics.funnel_rows(result))


def _show_map(pm: ProcessMap, title: str, json: bool, csv: Path | None, chart: Path | None) -> None:
    _csv(csv, pm.edges)
    _chart(chart, lambda fmt: analytics.process_map_chart(pm, fmt, title=title))
    if json:
        emit_json(pm)
        return
    console.print(f"{fmt.count(pm.cases)} cases, {fmt.count(pm.events)} events")
    _print_rows("edges", [e.model_dump() for e in pm.edges[:30]])
    _print_rows(
        "variants",
        [
            {"cases": v.cases, "share": v.share, "path": " > ".join(v.activities)}
            for v in pm.variants
        ],
    )


@app.command("paths")
def paths_command(
    journey: str | None = typer.Option(None, help="Paths through this journey's nodes (id or key)"),
    conversion: str | None = typer.Option(None, help="Events preceding this conversion event"),
    version: int | None = typer.Option(None, help="Journey version"),
    lookback: str = typer.Option("P30D", help="How far back before a conversion"),
    top: int = typer.Option(10, help="How many variants"),
    json: bool = JsonOpt,
    csv: Path | None = CsvOpt,
    chart: Path | None = ChartOpt,
) -> None:
    """Process map and top variants of a journey, or of the events before a conversion."""
    if (journey is None) == (conversion is None):
        raise ValidationFailed("give either --journey or --conversion", field="--journey")
    engine = _engine()
    try:
        with fmt.working("mapping the paths", quiet=json):
            if journey is not None:
                pm = analytics.journey_process_map(
                    engine, journey_id=_journey(journey), version=version, top_variants=top
                )
            else:
                pm = analytics.conversion_paths(
                    engine,
                    conversion_event=str(conversion),
                    lookback=_duration(lookback, "lookback"),
                    top_variants=top,
                )
    finally:
        engine.close()
    _show_map(pm, journey or str(conversion), json, csv, chart)


@app.command("process-map")
def process_map_command(
    file: Path = typer.Argument(..., help="A CSV or Parquet event log", exists=True),
    case: str = typer.Option("case_id", help="Case column"),
    activity: str = typer.Option("activity", help="Activity column"),
    timestamp: str = typer.Option("timestamp", help="Timestamp column"),
    top: int = typer.Option(10, help="How many variants"),
    json: bool = JsonOpt,
    csv: Path | None = CsvOpt,
    chart: Path | None = ChartOpt,
) -> None:
    """Process map of any event log file (no store needed)."""
    import duckdb

    con = duckdb.connect()
    reader = "read_parquet" if file.suffix.lower() == ".parquet" else "read_csv_auto"
    table = con.execute(f"SELECT * FROM {reader}(?)", [str(file)]).to_arrow_table()
    pm = analytics.process_map(
        table, case=case, activity=activity, timestamp=timestamp, top_variants=top
    )
    _show_map(pm, file.name, json, csv, chart)


def _pair(text: str, field: str) -> tuple[int, int]:
    conversions, _, n = text.partition("/")
    try:
        return int(conversions), int(n)
    except ValueError as exc:
        raise ValidationFailed("write groups as CONVERSIONS/N, e.g. 130/1000", field=field) from exc


@app.command("compare")
def compare_command(
    control: str = typer.Option(..., help="Control as CONVERSIONS/N, e.g. 100/1000"),
    variant: str = typer.Option(..., help="Variant as CONVERSIONS/N"),
    confidence: float = typer.Option(0.95, help="Confidence level of the interval"),
    json: bool = JsonOpt,
) -> None:
    """Compare two groups: difference with its always-valid interval and p-value, lift, chance
    to beat control, SRM check."""
    result = analytics.compare(
        control=_pair(control, "--control"),
        variant=_pair(variant, "--variant"),
        confidence=confidence,
    )
    if json:
        emit_json(result)
        return
    flat = result.model_dump(exclude={"control", "variant", "srm"})
    flat["control_rate"], flat["variant_rate"] = result.control.rate, result.variant.rate
    flat["sample_ratio_mismatch"] = result.srm.mismatch
    _print_figures("experiment", flat)


@app.command("experiment")
def experiment_command(
    journey: str = typer.Argument(..., help="Journey id or key"),
    split_node: str | None = typer.Argument(None, help="Only this split node"),
    version: int | None = typer.Option(None, help="Version (default: the latest)"),
    json: bool = JsonOpt,
) -> None:
    """A journey's splits as experiments: each arm's conversions within the window, each
    variant against the control (always-valid p-value and interval), sample ratio check and
    the decision with its method."""
    ctx = open_context()
    reports = [
        r
        for r in analytics.experiment_reports(
            ctx,
            workspace_id=ctx.workspace_id,
            journey=journey,
            version=version,
            now=ctx.clock.now(),
        )
        if split_node is None or r.split_node == split_node
    ]
    if split_node is not None and not reports:
        raise ValidationFailed(f"no split {split_node!r} in journey {journey}", field="split_node")
    if json:
        emit_json(reports)
        return
    for r in reports:
        versus = {c.arm: c for c in r.comparisons}
        rows = []
        for a in r.arms:
            c = versus.get(a.arm)
            rows.append(
                {
                    "arm": a.arm + (" (control)" if a.control else ""),
                    "weight": a.weight,
                    "exposed": a.exposed,
                    "closed": a.closed,
                    "conversions": a.conversions,
                    "rate": a.rate,
                    "difference": c.difference if c else None,
                    "ci_low": c.ci_low if c else None,
                    "ci_high": c.ci_high if c else None,
                    "p_value": c.p_value if c else None,
                    "chance_to_beat": c.chance_to_beat_control if c else None,
                }
            )
        _print_rows(f"journey {r.journey_key} v{r.version} split {r.split_node}", rows)
        decision = r.decision
        console.print(
            f"{decision.status}{': ' + decision.arm if decision.arm else ''} - {decision.reason}"
        )
        console.print(
            f"window {r.window}, SRM p={r.srm.p_value:.3g}"
            f"{' (MISMATCH)' if r.srm.mismatch else ''}; method: {r.method}",
            style="dim",
        )


@app.command("attribution")
def attribution_command(
    conversion: str = typer.Option(..., help="The conversion event name"),
    by: str = typer.Option("channel", help="channel, template or category"),
    lookback: str = typer.Option("P30D", help="Touchpoints this far before each path's end"),
    half_life: str = typer.Option("P7D", help="Half-life of the time-decay model"),
    start: str | None = StartOpt,
    end: str | None = EndOpt,
    json: bool = JsonOpt,
) -> None:
    """Credit the conversions in the window to the messages sent to the customer before them
    (the same lookback for every path), with every model."""
    ctx = open_context()
    result = analytics.attribute_conversions(
        ctx,
        workspace_id=ctx.workspace_id,
        conversion_event=conversion,
        by=by,
        lookback=_duration(lookback, "lookback"),
        half_life=_duration(half_life, "half_life"),
        start=_time(start, "start"),
        end=_time(end, "end"),
    )
    if json:
        emit_json(result)
        return
    rows = [
        {"model": model, by: c.channel, "conversions": c.conversions, "revenue": c.revenue}
        for model, credits in result.models.items()
        for c in credits
    ]
    _print_rows(
        f"{fmt.number(result.conversions)} conversions, revenue {fmt.money(result.revenue)} "
        f"({fmt.number(result.converting_paths)} converting, "
        f"{fmt.number(result.non_converting_paths)} other paths)",
        rows,
    )


@app.command("score")
def score_command(
    scale: str = typer.Argument(..., help="csat, nps, stars or ces"),
    responses: list[float] = typer.Argument(..., help="The answers"),
    json: bool = JsonOpt,
) -> None:
    """Summarise survey answers on the common 0-100 scale."""
    if scale not in analytics.SCORE_SCALES:
        raise ValidationFailed("scale must be csat, nps, stars or ces", field="scale")
    summary = analytics.summarise_scores(scale, responses)  # type: ignore[arg-type]
    if json:
        emit_json(summary)
    else:
        _print_figures(scale, summary.model_dump())


@app.command("journey-score")
def journey_score_command(
    journey: str = typer.Argument(..., help="Journey id or key"),
    version: int | None = typer.Option(None, help="Only this version"),
    start: str | None = StartOpt,
    end: str | None = EndOpt,
    json: bool = JsonOpt,
) -> None:
    """A journey's score from its own data: conversion against the goal's target,
    satisfaction (top-2-box), effort and sentiment, with weights and coverage."""
    ctx = open_context()
    result = analytics.journey_score(
        ctx,
        workspace_id=ctx.workspace_id,
        journey=journey,
        version=version,
        start=_time(start, "start"),
        end=_time(end, "end"),
        now=ctx.clock.now(),
    )
    if json:
        emit_json(result)
        return
    rows = [
        {
            "component": c.name,
            "value": c.value,
            "weight": c.weight,
            "observations": c.observations,
            "counted": "yes" if c.measured else f"no: {c.note}",
        }
        for c in result.components
    ]
    score = "—" if result.score is None else f"{result.score:.0f}"
    _print_rows(f"journey score {score} (coverage {result.coverage:.0%})", rows)


@app.command("snapshot")
def snapshot_command(
    directory: Path = typer.Argument(..., help="Where the Parquet copy of the event log lives"),
    json: bool = JsonOpt,
) -> None:
    """Append new events to the Parquet copy (incremental by seq)."""
    ctx = open_context()
    with (
        fmt.working("copying new events to Parquet", quiet=json),
        open_engine(ctx.store, ctx.workspace_id) as engine,
    ):
        done = engine.snapshot(directory)
    if json:
        emit_json(done)
    else:
        console.print(f"{fmt.count(done['rows'])} events added (up to seq {done['to_seq']})")


@monitor_app.command("run")
def monitor_run(
    rewind: int | None = typer.Option(None, help="Judge the last N completed hours again"),
    json: bool = JsonOpt,
) -> None:
    """Judge the completed hours now and print new alerts."""
    ctx = open_context()
    now = ctx.clock.now()
    if rewind:
        with ctx.store.begin() as conn:
            analytics.rewind_monitor(conn, workspace_id=ctx.workspace_id, hours=rewind, now=now)
    with fmt.working("judging event volumes", quiet=json):
        run = analytics.run_monitor(ctx, now=now)
    if json:
        emit_json(run)
    else:
        console.print(
            f"{fmt.count(run.hours_evaluated)} hours, {fmt.count(run.series)} series judged"
        )
        _print_alerts(run.alerts)


def _print_alerts(alerts: list[Any]) -> None:
    _print_rows(
        "alerts",
        [
            {
                "id": a.id,
                "hour": a.hour,
                "kind": a.kind,
                "source": a.source_id,
                "event": a.event_name,
                "property": a.property,
                "observed": a.observed,
                "expected": a.expected,
            }
            for a in alerts
        ],
    )


@monitor_app.command("alerts")
def monitor_alerts(
    kind: str | None = typer.Option(None, help="Only this kind (rise, drop, missing, ...)"),
    limit: int = typer.Option(100, help="How many, newest first"),
    json: bool = JsonOpt,
    csv: Path | None = CsvOpt,
) -> None:
    """List stored alerts."""
    ctx = open_context()
    with ctx.store.read() as conn:
        alerts = analytics.list_alerts(conn, workspace_id=ctx.workspace_id, kind=kind, limit=limit)
    _csv(csv, alerts)
    if json:
        emit_json(alerts)
    else:
        _print_alerts(alerts)


@monitor_app.command("config")
def monitor_config(
    webhook: str | None = typer.Option(None, help="POST alerts to this URL ('' to clear)"),
    threshold: float | None = typer.Option(None, help="Robust z-score that raises an alert"),
    channel_cost: list[str] = typer.Option(
        None, "--channel-cost", help="CHANNEL=COST per sent message (repeat)"
    ),
    json: bool = JsonOpt,
) -> None:
    """Show or change the monitor settings (and the channel costs used for KPIs)."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        config = analytics.get_config(conn, workspace_id=ctx.workspace_id)
        changes: dict[str, Any] = {}
        if webhook is not None:
            changes["webhook_url"] = webhook or None
        if threshold is not None:
            changes["threshold"] = threshold
        if channel_cost:
            costs = dict(config.channel_costs)
            for item in channel_cost:
                name, _, price = item.partition("=")
                try:
                    costs[name] = float(price)
                except ValueError as exc:
                    raise ValidationFailed("write CHANNEL=COST", field="--channel-cost") from exc
            changes["channel_costs"] = costs
        if changes:
            config = MonitorConfig.model_validate({**config.model_dump(), **changes})
            analytics.update_config(
                conn,
                workspace_id=ctx.workspace_id,
                config=config,
                now=ctx.clock.now(),
                actor=Actor.cli(ctx.workspace_id),
            )
    if json:
        emit_json(config)
    else:
        _print_figures("monitor", config.model_dump(), label="setting")
