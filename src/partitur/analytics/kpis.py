"""Journey KPIs, computed in DuckDB over ``journey_instances``, ``journey_transitions`` and the
channel outbox ``messages``.

Time to goal is ``converted_at - entered_at``; the median and p90 interpolate linearly
(``quantile_cont``). The success forecast is ``ml.journey_success``'s cure-rate model. Cost per
sent message is the configured channel cost when one is given for the channel, else the cost
recorded on the message, else 0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from partitur.analytics.contracts import ExitReason, JourneyKpis, KpiPoint, NodeKpis
from partitur.analytics.engine import AnalyticsEngine, naive_utc
from partitur.core.errors import ValidationFailed
from partitur.ml import service as ml

_CONVERTED = "(status = 'converted' OR converted_at IS NOT NULL)"


def instance_filter(
    journey_id: str,
    version: int | None,
    start: datetime | None,
    end: datetime | None,
    engine: AnalyticsEngine | None = None,
) -> tuple[str, dict[str, Any]]:
    """SQL and parameters selecting a journey's instances (of ``version``, entered in
    ``[start, end)``) without test profiles."""
    where = ["journey_id = $journey_id"]
    if engine is not None and "is_test" in engine.columns.get("journey_instances", {}):
        where.append("NOT coalesce(is_test, false)")  # test sends are not customers
    params: dict[str, Any] = {"journey_id": journey_id}
    if version is not None:
        where.append("version = $version")
        params["version"] = version
    if start is not None:
        where.append("entered_at >= $start")
        params["start"] = naive_utc(start, "start")
    if end is not None:
        where.append("entered_at < $end")
        params["end"] = naive_utc(end, "end")
    return " AND ".join(where), params


def _cost_expr(channel_costs: dict[str, float] | None) -> tuple[str, dict[str, Any]]:
    if not channel_costs:
        return "coalesce(cost, 0)", {}
    params: dict[str, Any] = {}
    cases = []
    for i, (channel, price) in enumerate(sorted(channel_costs.items())):
        if price < 0:
            raise ValidationFailed(
                "channel costs cannot be negative", field=f"channel_costs.{channel}"
            )
        params[f"ch{i}"] = channel
        params[f"price{i}"] = float(price)
        cases.append(f"WHEN channel = $ch{i} THEN $price{i}")
    return f"CASE {' '.join(cases)} ELSE coalesce(cost, 0) END", params


def journey_kpis(
    engine: AnalyticsEngine,
    *,
    journey_id: str,
    version: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    channel_costs: dict[str, float] | None = None,
    now: datetime | None = None,
    inactive_after: timedelta = timedelta(days=7),
) -> JourneyKpis:
    """The KPI summary of a journey. Raises ``NotFound`` when the journey tables are missing.

    Message figures (sent, cost, contacts per customer) are ``None`` when the store has no
    ``messages`` table; inactivity (active instances without a transition for
    ``inactive_after``) needs ``now`` and ``journey_transitions``.
    """
    engine.require("journey_instances")
    where, params = instance_filter(journey_id, version, start, end, engine)
    row = engine.query(
        f"""
        SELECT count(*) AS entered,
               count(*) FILTER (WHERE status = 'active') AS active,
               count(*) FILTER (WHERE status = 'completed') AS completed,
               count(*) FILTER (WHERE {_CONVERTED}) AS converted,
               count(*) FILTER (WHERE status = 'exited') AS exited,
               quantile_cont(epoch(converted_at - entered_at), [0.5, 0.9])
                   FILTER (WHERE converted_at IS NOT NULL) AS goal_quantiles,
               coalesce(sum(revenue) FILTER (WHERE {_CONVERTED}), 0) AS revenue,
               histogram(coalesce(end_reason, 'unknown')) FILTER (WHERE status = 'exited')
                   AS reasons
        FROM journey_instances WHERE {where}
        """,
        params,
    ).fetchone()
    assert row is not None
    # distinct profiles by their 64-bit hash: twice as fast as comparing the strings, and a
    # collision among a million profiles has a probability of about 3e-8
    profiles_row = engine.query(
        f"SELECT count(DISTINCT hash(profile_id)) FROM journey_instances WHERE {where}", params
    ).fetchone()
    assert profiles_row is not None
    entered, active, completed, converted, exited = (int(v) for v in row[:5])
    quantiles = row[5] or [None, None]
    reasons = sorted((row[7] or {}).items(), key=lambda item: (-item[1], item[0]))
    result = JourneyKpis(
        journey_id=journey_id,
        version=version,
        entered=entered,
        active=active,
        completed=completed,
        converted=converted,
        exited=exited,
        exited_by_reason=[ExitReason(reason=str(r), count=int(n)) for r, n in reasons],
        conversion_rate=converted / entered if entered else None,
        median_time_to_goal_seconds=_float(quantiles[0]),
        p90_time_to_goal_seconds=_float(quantiles[1]),
        attributed_revenue=float(row[6]),
        profiles=int(profiles_row[0]),
    )
    if "messages" in engine.available:
        cost, cost_params = _cost_expr(channel_costs)
        msg = engine.query(
            f"""
            SELECT count(*) AS sent, coalesce(sum({cost}), 0) AS cost
            FROM messages
            WHERE sent_at IS NOT NULL AND instance_id IN (SELECT id FROM journey_instances
                                                          WHERE {where})
            """,
            {**params, **cost_params},
        ).fetchone()
        assert msg is not None
        result.messages_sent = int(msg[0])
        result.total_cost = float(msg[1])
        result.cost_per_conversion = float(msg[1]) / converted if converted else None
        result.contacts_per_customer = int(msg[0]) / result.profiles if result.profiles else None
    if now is not None and "journey_transitions" in engine.available:
        cutoff = naive_utc(now - inactive_after, "now")
        inactive = engine.query(
            f"""
            WITH act AS (SELECT id, entered_at FROM journey_instances
                         WHERE {where} AND status = 'active'),
                 last AS (SELECT instance_id, max("at") AS last_at FROM journey_transitions
                          WHERE instance_id IN (SELECT id FROM act) GROUP BY 1)
            SELECT count(*) FROM act LEFT JOIN last ON last.instance_id = act.id
            WHERE coalesce(last.last_at, act.entered_at) < $cutoff
            """,
            {**params, "cutoff": cutoff},
        ).fetchone()
        assert inactive is not None
        result.inactive = int(inactive[0])
        result.inactive_share = result.inactive / active if active else None
    if now is not None and entered:
        _forecast(engine, result, journey_id, where, params, now)
    return result


def _forecast(
    engine: AnalyticsEngine,
    result: JourneyKpis,
    journey_id: str,
    where: str,
    params: dict[str, Any],
    now: datetime,
) -> None:
    """Journey success forecast (``ml.service.forecast_journey_success``, which describes the
    model): the horizon and the older cohorts from all of the journey's instances, the forecast
    for the selected ones. Leaves the figures ``None`` and says why in ``forecast_note`` when
    the older cohorts have too few conversions."""
    journey_where, journey_params = instance_filter(journey_id, None, None, None, engine)
    columns = "entered_at, converted_at AS goal_at, ended_at"
    every = f"(SELECT {columns} FROM journey_instances WHERE {journey_where})"
    selected = f"(SELECT {columns} FROM journey_instances WHERE {where})"
    base = {"now": naive_utc(now, "now")}
    durations = engine.query(
        ml.DURATION_SQL.format(relation=every, where="true"),
        {**journey_params, **base, "cap": ml.MAX_HORIZON_HOURS},
    ).fetchall()
    size = ml.MAX_HORIZON_HOURS + 1
    horizon = ml.horizon_hours(ml.histogram(durations, size, 1), ml.histogram(durations, size, 2))
    history_rows = engine.query(
        ml.HISTORY_SQL.format(relation=every, where="true"),
        {**journey_params, **base, "horizon": horizon},
    ).fetchall()
    cohort_rows = engine.query(
        ml.COHORT_SQL.format(relation=selected, where="true"),
        {**params, **base, "horizon": horizon},
    ).fetchall()
    history = ml.History(
        horizon=horizon,
        goals=ml.histogram(history_rows, horizon + 1, 1),
        non_converter_ends=ml.histogram(history_rows, horizon + 1, 2),
    )
    cohort = ml.Cohort(
        entered=int(sum(r[1] + r[2] + r[3] for r in cohort_rows)),
        converted=int(sum(r[1] for r in cohort_rows)),
        ended=int(sum(r[2] for r in cohort_rows)),
        active_by_age=ml.histogram(cohort_rows, horizon + 1, 3),
    )
    result.forecast_horizon_hours = horizon
    result.forecast_history_conversions = history.conversions
    try:
        found = ml.forecast_journey_success(history, cohort)
    except ValueError as exc:
        result.forecast_note = str(exc)
        return
    result.expected_conversions = round(found.expected_conversions, 1)
    result.success_probability = found.success_probability
    result.forecast_conversion_rate = found.conversion_rate
    result.forecast_conversion_rate_low = found.conversion_rate_low
    result.forecast_conversion_rate_high = found.conversion_rate_high


def node_kpis(
    engine: AnalyticsEngine,
    *,
    journey_id: str,
    version: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    channel_costs: dict[str, float] | None = None,
) -> list[NodeKpis]:
    """Per node: instances that reached it, wait there, exited there (drop-off), and its
    messages by outcome (``NodeKpis``: sent, delivered, opened, clicked, failed, not sent,
    pending, with the most common reasons) and their cost."""
    engine.require("journey_instances", "journey_transitions")
    where, params = instance_filter(journey_id, version, start, end, engine)
    has_messages = "messages" in engine.available
    cost, cost_params = _cost_expr(channel_costs)
    # the reason of an outcome (the message's last error); stores without it give none
    error = "error" if has_messages and _has_column(engine, "messages", "error") else "NULL"
    message_cte = (
        f"""msg AS (SELECT node_id,
                   count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
                   count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered,
                   count(*) FILTER (WHERE opened_at IS NOT NULL) AS opened,
                   count(*) FILTER (WHERE clicked_at IS NOT NULL) AS clicked,
                   count(*) FILTER (WHERE status IN ('failed', 'bounced')) AS failed,
                   mode({error}) FILTER (WHERE status IN ('failed', 'bounced'))
                       AS failure_reason,
                   count(*) FILTER (WHERE status IN ('suppressed', 'capped')) AS not_sent,
                   mode({error}) FILTER (WHERE status IN ('suppressed', 'capped'))
                       AS not_sent_reason,
                   count(*) FILTER (WHERE status IN ('queued', 'deferred', 'sending'))
                       AS pending,
                   coalesce(sum({cost}) FILTER (WHERE sent_at IS NOT NULL), 0) AS cost
            FROM messages WHERE instance_id IN (SELECT id FROM inst) GROUP BY 1)"""
        if has_messages
        else """msg AS (SELECT NULL::VARCHAR AS node_id, 0 AS sent, 0 AS delivered, 0 AS opened,
                   0 AS clicked, 0 AS failed, NULL::VARCHAR AS failure_reason, 0 AS not_sent,
                   NULL::VARCHAR AS not_sent_reason, 0 AS pending, 0.0 AS cost WHERE false)"""
    )
    rows = engine.rows(
        f"""
        WITH inst AS (SELECT id, status, current_node FROM journey_instances WHERE {where}),
             reached AS (SELECT node_id, count(DISTINCT instance_id) AS reached
                         FROM journey_transitions
                         WHERE instance_id IN (SELECT id FROM inst) GROUP BY 1),
             here AS (SELECT current_node AS node_id,
                             count(*) FILTER (WHERE status = 'active') AS waiting,
                             count(*) FILTER (WHERE status = 'exited') AS exited_here
                      FROM inst WHERE current_node IS NOT NULL GROUP BY 1),
             {message_cte},
             nodes AS (SELECT node_id FROM reached UNION SELECT node_id FROM here
                       UNION SELECT node_id FROM msg)
        SELECT n.node_id, coalesce(r.reached, 0) AS reached, coalesce(h.waiting, 0) AS waiting,
               coalesce(h.exited_here, 0) AS exited_here,
               coalesce(m.sent, 0) AS sent, coalesce(m.delivered, 0) AS delivered,
               coalesce(m.opened, 0) AS opened, coalesce(m.clicked, 0) AS clicked,
               coalesce(m.failed, 0) AS failed, m.failure_reason,
               coalesce(m.not_sent, 0) AS not_sent, m.not_sent_reason,
               coalesce(m.pending, 0) AS pending,
               coalesce(m.cost, 0) AS cost
        FROM nodes n LEFT JOIN reached r USING (node_id) LEFT JOIN here h USING (node_id)
             LEFT JOIN msg m USING (node_id)
        WHERE n.node_id IS NOT NULL
        ORDER BY reached DESC, n.node_id
        """,
        {**params, **cost_params},
    )
    return [
        NodeKpis(
            **{k: v for k, v in r.items() if k != "cost"},
            cost=float(r["cost"]),
            drop_off_rate=r["exited_here"] / r["reached"] if r["reached"] else None,
        )
        for r in rows
    ]


def kpi_timeseries(
    engine: AnalyticsEngine,
    *,
    journey_id: str,
    version: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    interval: str = "day",
) -> list[KpiPoint]:
    """Entered and converted instances per ``interval`` (hour, day, week, month) of entry."""
    if interval not in {"hour", "day", "week", "month"}:
        raise ValidationFailed("interval must be hour, day, week or month", field="interval")
    engine.require("journey_instances")
    where, params = instance_filter(journey_id, version, start, end, engine)
    rows = engine.query(
        f"""SELECT date_trunc('{interval}', entered_at) AS period, count(*) AS entered,
               count(*) FILTER (WHERE {_CONVERTED}) AS converted
        FROM journey_instances WHERE {where} GROUP BY 1 ORDER BY 1""",
        params,
    ).fetchall()
    return [
        KpiPoint(
            period=p.replace(tzinfo=UTC),
            entered=int(e),
            converted=int(c),
            conversion_rate=int(c) / int(e) if e else None,
        )
        for p, e, c in rows
    ]


def _has_column(engine: AnalyticsEngine, table: str, column: str) -> bool:
    known = engine.columns.get(table)
    if known is None:  # a table registered from a frame
        known = {str(r[0]): "" for r in engine.query(f'DESCRIBE "{table}"').fetchall()}
    return column in known


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
