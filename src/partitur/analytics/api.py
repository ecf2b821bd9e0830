"""HTTP API of analytics (read scope to read; write scope to configure and run the monitor)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from partitur.analytics import charts, experiments, kpis, paths, scores, service
from partitur.analytics.contracts import (
    Alert,
    AttributionResult,
    EventName,
    ExperimentReport,
    ExperimentResult,
    FunnelResult,
    FunnelSpec,
    JourneyKpis,
    JourneyReport,
    JourneyScore,
    KpiPoint,
    MonitorConfig,
    MonitorRun,
    NodeKpis,
    ProcessMap,
    Scale,
    ScoreSummary,
)
from partitur.analytics.engine import open_engine
from partitur.analytics.exports import funnel_rows, to_csv
from partitur.analytics.funnels import funnel
from partitur.analytics.monitoring import epoch_hour, volume_series
from partitur.api.deps import ContextDep, ReadPrincipal, WritePrincipal
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.errors import Forbidden, NotFound
from partitur.core.pagination import Page, decode_cursor, encode_cursor
from partitur.workspaces import service as workspaces

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

TableFormat = Literal["json", "csv"]
ChartFormat = Literal["json", "csv", "png", "svg"]


def _journey_id(ctx: Context, who: Actor, value: str) -> str:
    with ctx.store.read() as conn:
        return service.journey_id_of(conn, workspace_id=who.workspace_id, value=value)


def _csv(text: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8")


def _image(data: bytes, fmt: str) -> Response:
    return Response(data, media_type=charts.FORMATS[fmt])


class JourneyKpiReport(BaseModel):
    summary: JourneyKpis
    nodes: list[NodeKpis]


@router.get("/events/names", response_model=list[EventName])
def event_names(
    ctx: ContextDep, who: ReadPrincipal, days: int = Query(90, ge=1, le=366)
) -> list[EventName]:
    """The event names received in the last ``days`` days, the most frequent first."""
    return service.event_names(
        ctx.store, workspace_id=who.workspace_id, now=ctx.clock.now(), days=days
    )


@router.get("/journeys/kpis", response_model=list[JourneyKpis])
def journeys_kpis(ctx: ContextDep, who: ReadPrincipal) -> list[JourneyKpis]:
    """The KPI summary of every published journey over all its versions (one engine for all,
    so asking for the list costs about one scan of the journey tables)."""
    return service.journey_headlines(ctx.store, workspace_id=who.workspace_id, now=ctx.clock.now())


@router.get("/journeys/{journey_id}/report", response_model=JourneyReport)
def journey_report(journey_id: str, ctx: ContextDep, who: ReadPrincipal) -> JourneyReport:
    """A published journey's (its key or id) KPI summary, per-node figures, entries and
    conversions per day of entry (per week past 120 days), every split's experiment and the
    journey score, from one engine."""
    return service.journey_report(
        ctx, workspace_id=who.workspace_id, journey=journey_id, now=ctx.clock.now()
    )


@router.get("/journeys/{journey_id}/kpis", response_model=JourneyKpiReport)
def journey_kpis(
    journey_id: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    version: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    inactive_days: float = Query(7.0, gt=0),
    format: TableFormat = "json",
) -> Any:
    """KPI summary and per-node figures (drop-off, messages, cost) of a journey (its id or
    key)."""
    journey_id = _journey_id(ctx, who, journey_id)
    with ctx.store.read() as conn:
        costs = service.get_config(conn, workspace_id=who.workspace_id).channel_costs
    with open_engine(ctx.store, who.workspace_id) as engine:
        summary = kpis.journey_kpis(
            engine,
            journey_id=journey_id,
            version=version,
            start=start,
            end=end,
            channel_costs=costs,
            now=ctx.clock.now(),
            inactive_after=timedelta(days=inactive_days),
        )
        nodes = kpis.node_kpis(
            engine,
            journey_id=journey_id,
            version=version,
            start=start,
            end=end,
            channel_costs=costs,
        )
    if format == "csv":
        return _csv(to_csv(nodes))
    return JourneyKpiReport(summary=summary, nodes=nodes)


@router.get("/journeys/{journey_id}/timeseries", response_model=list[KpiPoint])
def journey_timeseries(
    journey_id: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    version: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    interval: Literal["hour", "day", "week", "month"] = "day",
    format: ChartFormat = "json",
) -> Any:
    """Entered and converted instances over time (JSON, CSV, or a PNG/SVG chart)."""
    journey_id = _journey_id(ctx, who, journey_id)
    with open_engine(ctx.store, who.workspace_id) as engine:
        points = kpis.kpi_timeseries(
            engine, journey_id=journey_id, version=version, start=start, end=end, interval=interval
        )
    if format == "csv":
        return _csv(to_csv(points))
    if format in charts.FORMATS:
        return _image(charts.kpi_chart(points, format, title=journey_id), format)
    return points


@router.get("/journeys/{journey_id}/process-map", response_model=ProcessMap)
def journey_process_map(
    journey_id: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    version: int | None = None,
    top: int = Query(10, ge=0, le=100),
    format: ChartFormat = "json",
) -> Any:
    """The paths instances took through the journey's nodes."""
    journey_id = _journey_id(ctx, who, journey_id)
    with open_engine(ctx.store, who.workspace_id) as engine:
        pm = paths.journey_process_map(
            engine, journey_id=journey_id, version=version, top_variants=top
        )
    return _process_map_response(pm, format, journey_id)


def _process_map_response(pm: ProcessMap, format: str, title: str) -> Any:
    if format == "csv":
        return _csv(to_csv(pm.edges))
    if format in charts.FORMATS:
        return _image(charts.process_map_chart(pm, format, title=title), format)
    return pm


@router.get("/journeys/{journey_id}/experiments", response_model=list[ExperimentReport])
def journey_experiments(
    journey_id: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    version: int | None = None,
) -> list[ExperimentReport]:
    """Every split of a journey version (default: the latest) as an experiment: arms with their
    weights, conversions within the window, each variant against the control (always-valid
    p-value and confidence interval), sample ratio check and the decision."""
    return service.experiment_reports(
        ctx, workspace_id=who.workspace_id, journey=journey_id, version=version, now=ctx.clock.now()
    )


@router.get("/journeys/{journey_id}/experiments/{split_node}", response_model=ExperimentReport)
def journey_experiment(
    journey_id: str,
    split_node: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    version: int | None = None,
) -> ExperimentReport:
    """One split of a journey version as an experiment."""
    for found in service.experiment_reports(
        ctx, workspace_id=who.workspace_id, journey=journey_id, version=version, now=ctx.clock.now()
    ):
        if found.split_node == split_node:
            return found
    raise NotFound(f"no split {split_node!r} in journey {journey_id!r}", field="split_node")


@router.post("/funnels", response_model=FunnelResult)
def run_funnel(
    spec: FunnelSpec, ctx: ContextDep, who: ReadPrincipal, format: ChartFormat = "json"
) -> Any:
    """An ordered funnel over the event log."""
    with open_engine(ctx.store, who.workspace_id) as engine:
        result = funnel(engine, spec)
    if format == "csv":
        return _csv(to_csv(funnel_rows(result)))
    if format in charts.FORMATS:
        return _image(charts.funnel_chart(result, format), format)
    return result


class ConversionPathsQuery(BaseModel):
    conversion_event: str = Field(min_length=1, max_length=255)
    lookback_days: float = Field(default=30, gt=0, le=366)
    start: datetime | None = None
    end: datetime | None = None
    top: int = Field(default=10, ge=0, le=100)


@router.post("/paths/conversions", response_model=ProcessMap)
def conversion_paths(
    body: ConversionPathsQuery,
    ctx: ContextDep,
    who: ReadPrincipal,
    format: ChartFormat = "json",
) -> Any:
    """Which events precede a conversion (process map of the events before it)."""
    with open_engine(ctx.store, who.workspace_id) as engine:
        pm = paths.conversion_paths(
            engine,
            conversion_event=body.conversion_event,
            lookback=timedelta(days=body.lookback_days),
            start=body.start,
            end=body.end,
            top_variants=body.top,
        )
    return _process_map_response(pm, format, body.conversion_event)


class Counts(BaseModel):
    conversions: int = Field(ge=0)
    n: int = Field(gt=0)


class CompareRequest(BaseModel):
    control: Counts
    variant: Counts
    confidence: float = Field(default=0.95, gt=0, lt=1)
    expected_weights: tuple[float, float] = (0.5, 0.5)


@router.post("/experiments/compare", response_model=ExperimentResult)
def compare(body: CompareRequest, who: ReadPrincipal) -> ExperimentResult:
    """Compare two groups on conversion: difference with its always-valid confidence interval
    and p-value (mSPRT, valid however often the groups are compared as they grow), lift,
    chance to beat control, sample ratio check."""
    return experiments.compare(
        control=(body.control.conversions, body.control.n),
        variant=(body.variant.conversions, body.variant.n),
        confidence=body.confidence,
        expected_weights=body.expected_weights,
    )


class AttributionQuery(BaseModel):
    conversion_event: str = Field(min_length=1, max_length=255)
    by: Literal["channel", "template", "category"] = "channel"
    lookback_days: float = Field(default=30, gt=0, le=366)
    half_life_days: float = Field(default=7, gt=0)
    start: datetime | None = None
    end: datetime | None = None


@router.post("/attribution", response_model=AttributionResult)
def attribute(body: AttributionQuery, ctx: ContextDep, who: ReadPrincipal) -> AttributionResult:
    """Credit the conversions in ``[start, end)`` to the messages sent to the customer before
    them (the same lookback for every path), with every model."""
    return service.attribute_conversions(
        ctx,
        workspace_id=who.workspace_id,
        conversion_event=body.conversion_event,
        by=body.by,
        lookback=timedelta(days=body.lookback_days),
        half_life=timedelta(days=body.half_life_days),
        start=body.start,
        end=body.end,
    )


class ScoreRequest(BaseModel):
    scale: Scale
    responses: list[float] = Field(max_length=1_000_000)


@router.post("/scores", response_model=ScoreSummary)
def score(body: ScoreRequest, who: ReadPrincipal) -> ScoreSummary:
    """Survey answers (CSAT, NPS, stars, CES) on the one satisfaction scale (top-2-box share),
    with the mean answer and, for NPS, its groups."""
    return scores.summarise(body.scale, body.responses)


@router.get("/journeys/{journey_id}/score", response_model=JourneyScore)
def journey_score(
    journey_id: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    version: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> JourneyScore:
    """The journey's score from its own data: conversion against the goal's target,
    satisfaction (top-2-box), effort (no support contact) and sentiment, with the weights, the
    coverage and why a component is not measured."""
    return service.journey_score(
        ctx,
        workspace_id=who.workspace_id,
        journey=journey_id,
        version=version,
        start=start,
        end=end,
        now=ctx.clock.now(),
    )


@router.get("/alerts", response_model=Page[Alert])
def list_alerts(
    ctx: ContextDep,
    who: ReadPrincipal,
    kind: str | None = None,
    since: datetime | None = None,
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
    format: TableFormat = "json",
) -> Any:
    """Data-quality alerts, newest first."""
    before = decode_cursor(cursor) if cursor else None
    with ctx.store.read() as conn:
        items = service.list_alerts(
            conn,
            workspace_id=who.workspace_id,
            kind=kind,
            since=since,
            before_id=int(before) if before else None,
            limit=limit,
        )
    if format == "csv":
        return _csv(to_csv(items))
    next_cursor = encode_cursor(items[-1].id) if len(items) == limit else None
    return Page[Alert](items=items, next_cursor=next_cursor)


@router.get("/volume")
def volume(
    ctx: ContextDep,
    who: ReadPrincipal,
    source_id: str | None = None,
    event: str | None = None,
    hours: int = Query(168, ge=1, le=24 * 60),
    format: ChartFormat = "json",
) -> Any:
    """Hourly volume with the seasonal expectation and the alerts (anomaly timeline)."""
    now = ctx.clock.now()
    if source_id is not None:
        with ctx.store.read() as conn:
            workspaces.get_source(conn, workspace_id=who.workspace_id, source_id=source_id)
    with open_engine(ctx.store, who.workspace_id) as engine:
        moments, observed, expected = volume_series(
            engine,
            end_hour=epoch_hour(now),
            hours=hours,
            source_id=source_id,
            event_name=event,
        )
    with ctx.store.read() as conn:
        alerts = [
            a
            for a in service.list_alerts(
                conn, workspace_id=who.workspace_id, since=moments[0], limit=1000
            )
            if (source_id is None or a.source_id == source_id)
            and (event is None or a.event_name == event)
        ]
    rows = [
        {"hour": m, "observed": o, "expected": e}
        for m, o, e in zip(moments, observed, expected, strict=True)
    ]
    if format == "csv":
        return _csv(to_csv(rows))
    if format in charts.FORMATS:
        title = " / ".join(x for x in (source_id, event) if x) or "all events"
        return _image(
            charts.anomaly_chart(moments, observed, expected, alerts, format, title=title), format
        )
    return {"series": rows, "alerts": [a.model_dump(mode="json") for a in alerts]}


@router.get("/monitor/config", response_model=MonitorConfig)
def get_monitor_config(ctx: ContextDep, who: ReadPrincipal) -> MonitorConfig:
    with ctx.store.read() as conn:
        return service.get_config(conn, workspace_id=who.workspace_id)


@router.put("/monitor/config", response_model=MonitorConfig)
def put_monitor_config(body: MonitorConfig, ctx: ContextDep, who: WritePrincipal) -> MonitorConfig:
    """Webhook URL, detection threshold and channel costs of the workspace."""
    with ctx.store.begin() as conn:
        return service.update_config(
            conn,
            workspace_id=who.workspace_id,
            config=body,
            now=ctx.clock.now(),
            actor=who,
        )


@router.post("/monitor/run", response_model=MonitorRun)
def run_monitor(ctx: ContextDep, who: WritePrincipal) -> MonitorRun:
    """Judge the completed hours now (the worker does this every minute)."""
    if who.workspace_id != ctx.workspace_id:
        raise Forbidden("the monitor runs for the served workspace only")
    run = service.run_monitor(ctx, now=ctx.clock.now())
    with ctx.store.begin() as conn:
        service.record_manual_run(
            conn, workspace_id=who.workspace_id, run=run, now=ctx.clock.now(), actor=who
        )
    return run
