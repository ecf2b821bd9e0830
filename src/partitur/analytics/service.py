"""Use cases of the analytics domain: the monitor's settings and the data-quality monitor run
(judge the completed hours, store alerts, send them as events and to the webhook)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Connection

from partitur.analytics import kpis, repository
from partitur.analytics.contracts import (
    Alert,
    JourneyKpis,
    JourneyReport,
    KpiPoint,
    MonitorConfig,
    MonitorRun,
    SplitExperiment,
)
from partitur.analytics.detection import DetectorSettings
from partitur.analytics.engine import AnalyticsEngine, open_engine
from partitur.analytics.experiments import journey_experiment
from partitur.analytics.monitoring import (
    HISTORY_HOURS,
    HOUR,
    Finding,
    epoch_hour,
    evaluation_window,
    hourly_volume,
    schema_findings,
    volume_findings,
)
from partitur.context import Context
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.clock import isoformat
from partitur.core.errors import NotFound, ValidationFailed
from partitur.storage.cursors import get_position, set_position
from partitur.storage.engine import Store

log = logging.getLogger(__name__)

#: the source alert events come in through (and which the monitor does not judge)
MONITOR_SOURCE = "partitur-monitor"
ALERT_EVENT = "Data Quality Alert"
WEBHOOK_MAX_ATTEMPTS = 5
WEBHOOK_TIMEOUT_SECONDS = 5.0


def journey_id_of(conn: Connection, *, workspace_id: str, value: str) -> str:
    """The id of the journey ``value`` names: its key (``cart-abandonment``) or its id. A value
    that is no journey's key is taken as an id (instances may outlive their journey)."""
    from partitur.journeys import service as journeys

    try:
        return journeys.get_journey(conn, workspace_id=workspace_id, key=value).id
    except NotFound:
        return value


#: The journey tables a page of journey figures queries again and again: copied into DuckDB once
#: per request (``AnalyticsEngine.materialize``), without the bulky documents never read.
JOURNEY_TABLES = ("journey_instances", "journey_transitions", "messages")
UNREAD_COLUMNS = ("state", "payload", "data", "error")
#: Beyond this many days of entries a journey's time series counts weeks instead of days.
MAX_DAILY_POINTS = 120


def journey_headlines(store: Store, *, workspace_id: str, now: datetime) -> list[JourneyKpis]:
    """The KPI summary of every published journey (over all its versions), measured over one
    engine into which the journey tables are copied once: the store is scanned once per
    table, not once per journey and query."""
    from partitur.journeys import service as journeys

    with store.read() as conn:
        published = [
            j
            for j in journeys.list_journeys(conn, workspace_id=workspace_id)
            if j.latest_version is not None
        ]
        costs = repository.get_config(conn, workspace_id).channel_costs
    if not published:
        return []
    with open_engine(store, workspace_id) as engine:
        engine.materialize(*JOURNEY_TABLES, omit=UNREAD_COLUMNS)
        return [
            kpis.journey_kpis(engine, journey_id=j.id, channel_costs=costs, now=now)
            for j in published
        ]


def _timeseries(engine: AnalyticsEngine, journey_id: str) -> tuple[str, list[KpiPoint]]:
    points = kpis.kpi_timeseries(engine, journey_id=journey_id, interval="day")
    if len(points) > 1 and (points[-1].period - points[0].period).days > MAX_DAILY_POINTS:
        return "week", kpis.kpi_timeseries(engine, journey_id=journey_id, interval="week")
    return "day", points


def _experiment(engine: AnalyticsEngine, journey_id: str, split_node: str) -> SplitExperiment:
    try:
        results = journey_experiment(engine, journey_id=journey_id, split_node=split_node)
    except ValidationFailed as exc:
        if exc.field == "control":
            return SplitExperiment(split_node=split_node, pending="no_control")
        return SplitExperiment(split_node=split_node, pending="too_few_variants")
    return SplitExperiment(split_node=split_node, results=results)


def journey_report(
    store: Store, *, workspace_id: str, journey: str, now: datetime
) -> JourneyReport:
    """What a journey's page shows (``journey`` is its key or id): the KPI summary and each
    node's figures over every version, entries and conversions per day of entry (per week
    beyond ``MAX_DAILY_POINTS`` days), and the experiment of every split node of the published
    version. One engine, the journey tables copied into it once. Raises ``NotFound`` for an
    unknown journey and ``ValidationFailed`` for one that is not published yet."""
    from partitur.journeys import service as journeys

    with store.read() as conn:
        match = [
            j
            for j in journeys.list_journeys(conn, workspace_id=workspace_id)
            if journey in (j.key, j.id)
        ]
        if not match:
            raise NotFound(f"no journey {journey}", field="journey_id")
        summary = match[0]
        if summary.latest_version is None:
            raise ValidationFailed(
                f"journey {summary.key} is not published yet", field="journey_id"
            )
        definition = journeys.get_definition(conn, workspace_id=workspace_id, key=summary.key)
        costs = repository.get_config(conn, workspace_id).channel_costs
    splits = [n.id for n in definition.nodes if n.type == "split"]
    with open_engine(store, workspace_id) as engine:
        engine.materialize(*JOURNEY_TABLES, omit=UNREAD_COLUMNS)
        headline = kpis.journey_kpis(engine, journey_id=summary.id, channel_costs=costs, now=now)
        nodes = kpis.node_kpis(engine, journey_id=summary.id, channel_costs=costs)
        interval, points = _timeseries(engine, summary.id)
        experiments = [_experiment(engine, summary.id, node) for node in splits]
    return JourneyReport(
        summary=headline,
        nodes=nodes,
        interval="week" if interval == "week" else "day",
        timeseries=points,
        experiments=experiments,
    )


def get_config(conn: Connection, *, workspace_id: str) -> MonitorConfig:
    return repository.get_config(conn, workspace_id)


@action("monitor.configure", permission=Permission.manage_models, subject="analytics_monitor")
def update_config(
    conn: Connection,
    *,
    workspace_id: str,
    config: MonitorConfig,
    now: datetime,
    actor: Actor,
) -> MonitorConfig:
    """Replace the monitor settings (webhook, thresholds, channel costs); audited."""
    if config.webhook_url and not config.webhook_url.startswith(("http://", "https://")):
        raise ValidationFailed("the webhook must be an http(s) URL", field="webhook_url")
    repository.put_config(conn, workspace_id, config, now)
    describe(
        subject_id=workspace_id,
        details={"webhook": bool(config.webhook_url), "threshold": config.threshold},
    )
    return config


def list_alerts(
    conn: Connection,
    *,
    workspace_id: str,
    kind: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[Alert]:
    if not 1 <= limit <= 1000:
        raise ValidationFailed("limit must be between 1 and 1000", field="limit")
    return repository.list_alerts(
        conn, workspace_id=workspace_id, kind=kind, since=since, before_id=before_id, limit=limit
    )


def _cursor_name(workspace_id: str) -> str:
    return f"analytics.monitor:{workspace_id}"


def _monitor_source_ids(ctx: Context) -> tuple[str, ...]:
    from partitur.workspaces.service import list_sources

    with ctx.store.read() as conn:
        return tuple(
            s.id
            for s in list_sources(conn, workspace_id=ctx.workspace_id)
            if s.name == MONITOR_SOURCE
        )


def run_monitor(
    ctx: Context, *, now: datetime, engine: AnalyticsEngine | None = None
) -> MonitorRun:
    """Judge every completed hour since the last run; store, emit and deliver new alerts."""
    with ctx.store.read() as conn:
        config = repository.get_config(conn, ctx.workspace_id)
        last = get_position(conn, _cursor_name(ctx.workspace_id))
    if not config.enabled:
        return MonitorRun(hours_evaluated=0, series=0, alerts=[])
    first, end = evaluation_window(now, last)
    if first >= end:
        return MonitorRun(
            hours_evaluated=0, series=0, alerts=deliver_webhooks(ctx, config=config, now=now)
        )
    settings = DetectorSettings(
        threshold=config.threshold,
        min_expected=config.min_expected,
        missing_min_expected=config.missing_min_expected,
    )
    excluded = _monitor_source_ids(ctx)
    own = engine is None
    engine = engine or AnalyticsEngine(ctx.store, ctx.workspace_id)
    try:
        if "events" not in engine.available:
            return MonitorRun(hours_evaluated=0, series=0, alerts=[])
        volume = hourly_volume(
            engine, first_hour=first - HISTORY_HOURS, end_hour=end, exclude_sources=excluded
        )
        findings = volume_findings(volume, HISTORY_HOURS, settings)
        findings += schema_findings(
            engine,
            start=datetime.fromtimestamp(first * HOUR, tz=UTC),
            end=datetime.fromtimestamp(end * HOUR, tz=UTC),
            exclude_sources=excluded,
        )
    finally:
        if own:
            engine.close()
    with ctx.store.begin() as conn:
        ids = repository.insert_alerts(conn, [_row(ctx.workspace_id, f, now) for f in findings])
        set_position(conn, _cursor_name(ctx.workspace_id), end - 1, now)
        created = repository.alerts_by_id(conn, ids)
        emitted = emit_alert_events(conn, workspace_id=ctx.workspace_id, alerts=created, now=now)
        repository.mark_emitted(conn, emitted)
    if created:
        log.info("data-quality alerts workspace=%s count=%d", ctx.workspace_id, len(created))
    deliver_webhooks(ctx, config=config, now=now)
    with ctx.store.read() as conn:
        created = repository.alerts_by_id(conn, ids)
    return MonitorRun(hours_evaluated=end - first, series=len(volume.series), alerts=created)


def _row(workspace_id: str, f: Finding, now: datetime) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "kind": f.kind,
        "source_id": f.source_id,
        "event_name": f.event_name,
        "property": f.property,
        "hour": f.hour,
        "observed": f.observed,
        "expected": f.expected,
        "score": f.score,
        "detail": f.detail or None,
        "dedupe_key": f.key(),
        "created_at": now,
        "event_emitted": False,
        "webhook_attempts": 0,
    }


def alert_payload(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "source_id": alert.source_id,
        "event_name": alert.event_name,
        "property": alert.property,
        "hour": isoformat(alert.hour),
        "observed": alert.observed,
        "expected": alert.expected,
        "score": alert.score,
        "detail": alert.detail,
    }


def emit_alert_events(
    conn: Connection, *, workspace_id: str, alerts: list[Alert], now: datetime
) -> list[int]:
    """Send alerts into the event log as ``Data Quality Alert`` track events (so journeys and
    analytics see them). The one adapter to the events domain; returns the ids emitted."""
    if not alerts:
        return []
    from partitur.events.service import ingest_messages
    from partitur.workspaces.service import ensure_source

    source = ensure_source(conn, workspace_id=workspace_id, name=MONITOR_SOURCE, now=now)
    messages = [
        {
            "type": "track",
            "event": ALERT_EVENT,
            "anonymousId": MONITOR_SOURCE,
            "messageId": f"analytics-alert-{a.id}",
            "timestamp": isoformat(now),
            "properties": {k: v for k, v in alert_payload(a).items() if v is not None},
        }
        for a in alerts
    ]
    result = ingest_messages(
        conn,
        workspace_id=workspace_id,
        source_id=source.id,
        messages=messages,
        received_at=now,
        origin="analytics:monitor",
    )
    if result.rejected:
        log.warning(
            "alert events rejected count=%d first=%s", len(result.rejected), result.rejected[0]
        )
    return [a.id for a in alerts]


def deliver_webhooks(ctx: Context, *, config: MonitorConfig, now: datetime) -> list[Alert]:
    """POST undelivered alerts to the configured webhook (one request each, bounded retries)."""
    if not config.webhook_url:
        return []
    with ctx.store.read() as conn:
        pending = repository.undelivered(conn, ctx.workspace_id, WEBHOOK_MAX_ATTEMPTS)
    if not pending:
        return []
    results: list[tuple[int, datetime | None, str | None]] = []
    with httpx.Client(timeout=WEBHOOK_TIMEOUT_SECONDS) as client:
        for alert in pending:
            try:
                response = client.post(
                    config.webhook_url,
                    json={
                        "type": "analytics.alert",
                        "workspace_id": ctx.workspace_id,
                        "alert": alert_payload(alert),
                    },
                )
                response.raise_for_status()
                results.append((alert.id, now, None))
            except httpx.HTTPError as exc:
                log.warning("alert webhook failed alert=%s error=%s", alert.id, exc)
                results.append((alert.id, None, str(exc)[:500]))
    with ctx.store.begin() as conn:
        for alert_id, delivered, error in results:
            repository.mark_webhook(conn, alert_id, delivered_at=delivered, error=error)
    return pending


def rewind_monitor(conn: Connection, *, workspace_id: str, hours: int, now: datetime) -> None:
    """Make the next run judge the last ``hours`` completed hours again (alerts stay unique)."""
    if not 1 <= hours <= 24 * 14:
        raise ValidationFailed("hours must be between 1 and 336", field="hours")
    set_position(conn, _cursor_name(workspace_id), epoch_hour(now) - hours - 1, now)


@action("monitor.run", permission=Permission.analyse, subject="analytics_monitor")
def record_manual_run(
    conn: Connection, *, workspace_id: str, run: MonitorRun, now: datetime, actor: Actor
) -> None:
    """Audit a monitor pass someone ran by hand (the pass writes as the loop's does)."""
    describe(
        subject_id=workspace_id,
        details={"hours_evaluated": run.hours_evaluated, "alerts": len(run.alerts)},
    )
