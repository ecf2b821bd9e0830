"""Use cases of the analytics domain: the monitor's settings and the data-quality monitor run
(judge the completed hours, store alerts, send them as events and to the webhook), and the
journey split experiments (their reports and the auto-winner's decisions)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection

from partitur.analytics import attribution, charts, experiments, filters, kpis, repository, scores
from partitur.analytics.attribution import store_attribution as store_attribution
from partitur.analytics.charts import funnel_chart as funnel_chart
from partitur.analytics.charts import kpi_chart as kpi_chart
from partitur.analytics.charts import process_map_chart as process_map_chart
from partitur.analytics.contracts import (
    Alert,
    AttributionResult,
    EventName,
    ExperimentDecision,
    ExperimentReport,
    JourneyKpis,
    JourneyReport,
    JourneyScore,
    KpiPoint,
    MonitorConfig,
    MonitorRun,
)
from partitur.analytics.detection import DetectorSettings
from partitur.analytics.engine import AnalyticsEngine as AnalyticsEngine
from partitur.analytics.engine import naive_utc as naive_utc
from partitur.analytics.engine import open_engine as open_engine
from partitur.analytics.experiments import compare as compare
from partitur.analytics.exports import funnel_rows as funnel_rows
from partitur.analytics.exports import to_csv as to_csv
from partitur.analytics.funnels import funnel as funnel
from partitur.analytics.kpis import journey_kpis as journey_kpis
from partitur.analytics.kpis import kpi_timeseries as kpi_timeseries
from partitur.analytics.kpis import node_kpis as node_kpis
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
from partitur.analytics.paths import conversion_paths as conversion_paths
from partitur.analytics.paths import journey_process_map as journey_process_map
from partitur.analytics.paths import process_map as process_map
from partitur.channels import service as channels
from partitur.context import Context
from partitur.core import outbound
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.clock import isoformat
from partitur.core.errors import NotFound, ValidationFailed
from partitur.core.rules import PropertyFilter
from partitur.journeys import service as journeys
from partitur.journeys.contracts import SplitExperiment
from partitur.ml import service as ml
from partitur.storage.cursors import get_position, set_position
from partitur.storage.engine import Store

log = logging.getLogger(__name__)

#: the source alert events come in through (and which the monitor does not judge)
MONITOR_SOURCE = "partitur-monitor"
ALERT_EVENT = "Data Quality Alert"
WEBHOOK_MAX_ATTEMPTS = 5
WEBHOOK_TIMEOUT_SECONDS = 5.0


def journey_id_of(conn: Connection, *, workspace_id: str, value: str) -> str:
    """The id of the journey ``value`` names: its key (``cart-abandonment``) or its id.
    Raises ``NotFound`` (field ``journey_id``) when the workspace has no such journey."""
    return journeys.find_journey(conn, workspace_id=workspace_id, value=value).id


#: The journey tables a page of journey figures queries again and again: copied into DuckDB once
#: per request (``AnalyticsEngine.materialize``), without the bulky documents never read.
JOURNEY_TABLES = ("journey_instances", "journey_transitions", "messages")
UNREAD_COLUMNS = ("state", "payload", "data")
#: Beyond this many days of entries a journey's time series counts weeks instead of days.
MAX_DAILY_POINTS = 120


def journey_headlines(store: Store, *, workspace_id: str, now: datetime) -> list[JourneyKpis]:
    """The KPI summary of every published journey (over all its versions), measured over one
    engine into which the journey tables are copied once: the store is scanned once per
    table, not once per journey and query."""
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


#: The most event names a picker is offered.
MAX_EVENT_NAMES = 500


def event_names(store: Store, *, workspace_id: str, now: datetime, days: int) -> list[EventName]:
    """The event names of ``track`` calls received in the last ``days`` days, the most
    frequent first (at most ``MAX_EVENT_NAMES``). Raises ``ValidationFailed`` for ``days``
    outside 1..366."""
    if not 1 <= days <= 366:
        raise ValidationFailed("days is between 1 and 366", field="days")
    with open_engine(store, workspace_id) as engine:
        engine.require("events")
        rows = engine.rows(
            """SELECT event AS name, count(*) AS events,
                      count(DISTINCT profile_id) AS profiles, max("timestamp") AS last_seen
               FROM events
               WHERE type = 'track' AND event IS NOT NULL AND "timestamp" >= $since
               GROUP BY 1 ORDER BY events DESC, name LIMIT $limit""",
            {"since": naive_utc(now - timedelta(days=days), "since"), "limit": MAX_EVENT_NAMES},
        )
    return [
        EventName(
            name=r["name"],
            events=int(r["events"]),
            profiles=int(r["profiles"]),
            last_seen=r["last_seen"].replace(tzinfo=UTC),
        )
        for r in rows
    ]


def _timeseries(engine: AnalyticsEngine, journey_id: str) -> tuple[str, list[KpiPoint]]:
    points = kpis.kpi_timeseries(engine, journey_id=journey_id, interval="day")
    if len(points) > 1 and (points[-1].period - points[0].period).days > MAX_DAILY_POINTS:
        return "week", kpis.kpi_timeseries(engine, journey_id=journey_id, interval="week")
    return "day", points


def journey_report(
    ctx: Context, *, workspace_id: str, journey: str, now: datetime
) -> JourneyReport:
    """What a journey's page shows (``journey`` is its key or id): the KPI summary and each
    node's figures over every version, entries and conversions per day of entry (per week
    beyond ``MAX_DAILY_POINTS`` days), every split of the published version as an experiment
    (``experiment_reports``) and the journey score. One engine, the journey tables copied into
    it once. Raises ``NotFound`` for an unknown journey and ``ValidationFailed`` for one that
    is not published yet."""
    with ctx.store.read() as conn:
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
        costs = repository.get_config(conn, workspace_id).channel_costs
    with open_engine(ctx.store, workspace_id) as engine:
        engine.materialize(*JOURNEY_TABLES, omit=UNREAD_COLUMNS)
        headline = kpis.journey_kpis(engine, journey_id=summary.id, channel_costs=costs, now=now)
        nodes = kpis.node_kpis(engine, journey_id=summary.id, channel_costs=costs)
        interval, points = _timeseries(engine, summary.id)
        reports = experiment_reports(
            ctx, workspace_id=workspace_id, journey=summary.key, engine=engine, now=now
        )
        score = journey_score(
            ctx, workspace_id=workspace_id, journey=summary.key, engine=engine, now=now
        )
    return JourneyReport(
        summary=headline,
        nodes=nodes,
        interval="week" if interval == "week" else "day",
        timeseries=points,
        experiments=reports,
        score=score,
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
    if config.webhook_url:
        try:
            outbound.check_url(config.webhook_url)
        except outbound.OutboundRefused as exc:
            raise ValidationFailed(f"the webhook is refused: {exc}", field="webhook_url") from None
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
                outbound.check_url(config.webhook_url)
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
            except (httpx.HTTPError, outbound.OutboundRefused) as exc:
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


# --- experiments ----------------------------------------------------------------------------

#: What the auto-winner does for each decision: route everyone to ``decision.arm``.
DECIDING = ("winner", "control_better", "guardrail")


def _journey_key(conn: Connection, workspace_id: str, value: str) -> str:
    """The key of the journey ``value`` names (its key or its id); raises ``NotFound``."""
    for journey in journeys.list_journeys(conn, workspace_id=workspace_id):
        if value in (journey.key, journey.id):
            return journey.key
    raise NotFound(f"no journey {value!r}", field="journey_id")


def experiment_reports(
    ctx: Context,
    *,
    workspace_id: str,
    journey: str,
    version: int | None = None,
    engine: AnalyticsEngine | None = None,
    now: datetime,
) -> list[ExperimentReport]:
    """Every split of a journey (its key or id) version (default: the latest) as an experiment
    report, with the auto-winner's decisions. Raises ``NotFound`` for an unknown journey or
    version."""
    with ctx.store.read() as conn:
        splits = journeys.split_experiments(
            conn,
            workspace_id=workspace_id,
            key=_journey_key(conn, workspace_id, journey),
            version=version,
        )
        decided = (
            repository.decisions_of(
                conn,
                workspace_id=workspace_id,
                journey_id=splits[0].journey_id,
                version=splits[0].version,
            )
            if splits
            else {}
        )
    if not splits:
        return []
    if engine is not None:
        return [
            experiments.journey_experiment(
                engine, split, now=now, decided=decided.get(split.split_node)
            )
            for split in splits
        ]
    with open_engine(ctx.store, workspace_id) as own:
        return [
            experiments.journey_experiment(
                own, split, now=now, decided=decided.get(split.split_node)
            )
            for split in splits
        ]


@action("experiment.decide", permission=Permission.publish_journeys, subject="journey")
def record_decision(
    conn: Connection,
    *,
    workspace_id: str,
    split: SplitExperiment,
    report: ExperimentReport,
    now: datetime,
    actor: Actor,
) -> ExperimentDecision:
    """Act on a report that decides: route everyone who reaches the split to the decision's
    arm (``journeys.service.set_split_winner``) and record the decision with the figures it was
    taken on. Raises ``ValidationFailed`` for a report that decides nothing."""
    if report.decision.status not in DECIDING or report.decision.arm is None:
        raise ValidationFailed("the report decides nothing", field="decision")
    decision = report.decision.model_copy(update={"decided_at": now})
    describe(
        subject_id=split.journey_id,
        after=decision.model_dump(mode="json"),
        details={"version": split.version, "split": split.split_node},
    )
    journeys.set_split_winner(
        conn,
        workspace_id=workspace_id,
        journey_id=split.journey_id,
        version=split.version,
        split_node=split.split_node,
        winner=decision.arm or "",
        reason=decision.reason,
        now=now,
        actor=actor,
    )
    repository.insert_decision(
        conn,
        workspace_id=workspace_id,
        journey_id=split.journey_id,
        version=split.version,
        split_node=split.split_node,
        decision=decision,
        report=report.model_copy(update={"decision": decision}).model_dump(mode="json"),
    )
    return decision


def decide_experiments(ctx: Context, *, now: datetime) -> int:
    """One pass of the auto-winner: report every undecided auto-winner split of the active
    journeys and act on the reports that decide (one transaction each). Returns how many splits
    were decided. Opens no analytics engine when no experiment runs."""
    with ctx.store.read() as conn:
        running = journeys.running_experiments(conn, workspace_id=ctx.workspace_id)
    if not running:
        return 0
    with open_engine(ctx.store, ctx.workspace_id) as engine:
        reports = [
            (split, experiments.journey_experiment(engine, split, now=now)) for split in running
        ]
    actor = Actor.system(ctx.workspace_id, "auto-winner")
    decided = 0
    for split, found in reports:
        if found.decision.status not in DECIDING:
            continue
        with ctx.store.begin() as conn:
            decision = record_decision(
                conn,
                workspace_id=ctx.workspace_id,
                split=split,
                report=found,
                now=now,
                actor=actor,
            )
        log.info(
            "experiment decided journey=%s version=%d split=%s status=%s arm=%s",
            split.journey_key,
            split.version,
            split.split_node,
            decision.status,
            decision.arm,
        )
        decided += 1
    return decided


# --- attribution ----------------------------------------------------------------------------


def attribute_conversions(
    ctx: Context,
    *,
    workspace_id: str,
    conversion_event: str,
    by: str = "channel",
    lookback: timedelta = timedelta(days=30),
    start: datetime | None = None,
    end: datetime | None = None,
    half_life: timedelta = timedelta(days=7),
) -> AttributionResult:
    """Attribute ``conversion_event`` events in ``[start, end)`` to the messages sent to the
    customer before them (``analytics.attribution``: the same ``lookback`` for every path;
    customer-facing touches as the channels declare them)."""
    touches = channels.touch_categories()
    with open_engine(ctx.store, workspace_id) as engine:
        return attribution.store_attribution(
            engine,
            conversion_event=conversion_event,
            customer_channels=touches.customer_channels,
            internal_builtins=touches.internal_builtins,
            by=by,
            lookback=lookback,
            start=start,
            end=end,
            half_life=half_life,
        )


# --- satisfaction and the journey score -----------------------------------------------------

#: SQL of the one satisfaction scale (``scores.satisfaction_sql``) and the literals of the event
#: conditions, for other domains' queries over the analytics engine
satisfaction_sql = scores.satisfaction_sql
sql_literal = filters.sql_literal
json_path = filters.json_path


def event_condition_sql(event: str, where: list[PropertyFilter]) -> str:
    """DuckDB SQL holding for ``events`` rows named ``event`` whose properties pass ``where``
    (the rule format's semantics), for other domains' queries over the analytics engine."""
    return filters.event_match_sql(event, where)


def journey_score(
    ctx: Context,
    *,
    workspace_id: str,
    journey: str,
    version: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    engine: AnalyticsEngine | None = None,
    now: datetime,
) -> JourneyScore:
    """The journey score of a journey (its key or id; ``analytics.scores``), over its instances
    of ``version`` entered in ``[start, end)``. Raises ``NotFound`` for an unknown journey."""
    with ctx.store.read() as conn:
        key = _journey_key(conn, workspace_id, journey)
        definition = journeys.load_definition(conn, workspace_id=workspace_id, key=key)
        journey_id = journeys.get_journey(conn, workspace_id=workspace_id, key=key).id
        config = repository.get_config(conn, workspace_id)

    def measure(eng: AnalyticsEngine) -> JourneyScore:
        where, params = kpis.instance_filter(journey_id, version, start, end, eng)
        return scores.journey_score(
            eng,
            journey_id=journey_id,
            where=where,
            params=params,
            target_rate=definition.goal.target_rate if definition.goal else None,
            has_goal=definition.goal is not None,
            surveys=config.survey_sources,
            support_events=config.support_events,
            text_properties=config.text_properties,
            negative=ml.negative_texts,
            now=now,
        )

    if engine is not None:
        return measure(engine)
    with open_engine(ctx.store, workspace_id) as own:
        return measure(own)


# -- the analyses as the API, the CLI and other domains use them: besides the functions above,
# the engine (open_engine, AnalyticsEngine, naive_utc) and funnel, process_map,
# conversion_paths, journey_process_map, journey_kpis, node_kpis, kpi_timeseries, compare,
# journey_experiment, store_attribution, the charts and the CSV exports imported at the top
# (each documented where it is implemented)

CHART_FORMATS = charts.FORMATS
SCORE_SCALES = scores.SCALES
summarise_scores = scores.summarise
