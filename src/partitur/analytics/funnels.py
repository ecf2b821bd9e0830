"""Funnels in SQL: ordered steps with property conditions, a conversion window, strict or
relaxed order, a breakdown by property and the time between steps.

* ``relaxed``: each step must happen after the previous one (other events may come between);
  an actor enters at their first step-1 event in the range, and every later step must happen
  within ``window_seconds`` of that entry (the first matching event is taken, greedily).
* ``strict``: the steps must be consecutive events of the actor (nothing in between), within
  the window; of several attempts, the deepest (then earliest) counts.

The actor is ``coalesce(profile_id, user_id, anonymous_id)``; the breakdown value is the
property of the entry (step 1) event.
"""

from __future__ import annotations

import re
from typing import Any

from partitur.analytics.contracts import (
    FunnelGroup,
    FunnelResult,
    FunnelSpec,
    FunnelStep,
    PropertyCondition,
)
from partitur.analytics.engine import AnalyticsEngine, naive_utc
from partitur.core.errors import ValidationFailed

_PROPERTY = re.compile(r"^[\w .\-$:/]{1,200}$")
_COMPARE = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def json_path(name: str, field: str) -> str:
    """A JSON path for a property name (nested properties are not split on dots)."""
    if not _PROPERTY.match(name) or '"' in name:
        raise ValidationFailed(f"unsupported property name {name!r}", field=field)
    return f'$."{name}"'


class _Params:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        key = f"p{len(self.values)}"
        self.values[key] = value
        return f"${key}"


def condition_sql(cond: PropertyCondition, params: _Params, field: str) -> str:
    path = params.add(json_path(cond.property, f"{field}.property"))
    text = f"json_extract_string(properties, {path})"
    if cond.op == "exists":
        return f"({text} IS NOT NULL)"
    if cond.value is None:
        raise ValidationFailed("this condition needs a value", field=f"{field}.value")
    if cond.op == "in":
        if not isinstance(cond.value, list) or not cond.value:
            raise ValidationFailed("'in' needs a non-empty list", field=f"{field}.value")
        return f"({text} IN (SELECT unnest({params.add([str(v) for v in cond.value])})))"
    if cond.op == "contains":
        return f"contains({text}, {params.add(str(cond.value))})"
    op = _COMPARE[cond.op]
    if isinstance(cond.value, bool):
        return f"({text} {op} {params.add('true' if cond.value else 'false')})"
    if isinstance(cond.value, int | float):
        return f"(TRY_CAST({text} AS DOUBLE) {op} {params.add(float(cond.value))})"
    return f"({text} {op} {params.add(str(cond.value))})"


def _step_sql(spec: FunnelSpec, index: int, params: _Params) -> str:
    step = spec.steps[index]
    parts = [f"event = {params.add(step.event)}"]
    for j, cond in enumerate(step.where):
        parts.append(condition_sql(cond, params, f"steps.{index}.where.{j}"))
    return "(" + " AND ".join(parts) + ")"


def _base_sql(spec: FunnelSpec, params: _Params, breakdown: bool) -> str:
    where = ["event IS NOT NULL"]
    if spec.start is not None:
        where.append(f'"timestamp" >= {params.add(naive_utc(spec.start, "start"))}')
    if spec.end is not None:
        where.append(f'"timestamp" < {params.add(naive_utc(spec.end, "end"))}')
    bd = (
        f"json_extract_string(properties, {params.add(json_path(spec.breakdown, 'breakdown'))})"
        if breakdown and spec.breakdown
        else "NULL::VARCHAR"
    )
    return f"""SELECT coalesce(profile_id, user_id, anonymous_id) AS actor,
                      "timestamp" AS ts, event, properties, {bd} AS bd
               FROM events WHERE {" AND ".join(where)}"""


def _relaxed_sql(spec: FunnelSpec, params: _Params) -> str:
    n = len(spec.steps)
    conds = [_step_sql(spec, i, params) for i in range(n)]
    window = params.add(spec.window_seconds)
    ctes = [
        f"base AS ({_base_sql(spec, params, True)})",
        f"""s1 AS (SELECT actor, min(ts) AS t1, arg_min(bd, ts) AS bd
                   FROM base WHERE {conds[0]} GROUP BY actor)""",
    ]
    for k in range(2, n + 1):
        same = spec.steps[k - 1].event == spec.steps[k - 2].event
        after = ">" if same else ">="
        ctes.append(
            f"""e{k} AS (SELECT actor, ts FROM base WHERE {conds[k - 1]}),
            s{k} AS (SELECT p.actor, min(e.ts) AS t{k}
                     FROM s{k - 1} p JOIN s1 f USING (actor) JOIN e{k} e USING (actor)
                     WHERE e.ts {after} p.t{k - 1}
                       AND e.ts <= f.t1 + to_seconds({window}::BIGINT)
                     GROUP BY p.actor)"""
        )
    joins = " ".join(f"LEFT JOIN s{k} USING (actor)" for k in range(2, n + 1))
    cols = ", ".join(f"t{k}" for k in range(2, n + 1))
    return f"WITH {', '.join(ctes)} SELECT s1.actor, bd, t1, {cols} FROM s1 {joins}"


def _strict_sql(spec: FunnelSpec, params: _Params) -> str:
    n = len(spec.steps)
    conds = [_step_sql(spec, i, params) for i in range(n)]
    window = params.add(spec.window_seconds)
    flags = ", ".join(f"coalesce({c}, false) AS m{i + 1}" for i, c in enumerate(conds))
    leads = ", ".join(
        f"lead(m{k}, {k - 1}) OVER w AS n{k}, lead(ts, {k - 1}) OVER w AS u{k}"
        for k in range(2, n + 1)
    )
    # depth = 1 + number of consecutive following steps that match within the window
    ok = [
        f"(coalesce(n{k}, false) AND u{k} <= ts + to_seconds({window}::BIGINT))"
        for k in range(2, n + 1)
    ]
    depth_terms = ["1"] + [
        "CASE WHEN " + " AND ".join(ok[: k - 1]) + " THEN 1 ELSE 0 END" for k in range(2, n + 1)
    ]
    depth = " + ".join(depth_terms)
    times = ", ".join(f"CASE WHEN depth >= {k} THEN u{k} END AS t{k}" for k in range(2, n + 1))
    picks = ", ".join(f"first(t{k} ORDER BY depth DESC, t1) AS t{k}" for k in range(2, n + 1))
    return f"""
    WITH base AS ({_base_sql(spec, params, True)}),
         flagged AS (SELECT actor, ts, bd, {flags} FROM base),
         led AS (SELECT actor, ts, bd, m1, {leads} FROM flagged
                 WINDOW w AS (PARTITION BY actor ORDER BY ts)),
         starts AS (SELECT actor, ts AS t1, bd, ({depth}) AS depth, * EXCLUDE (actor, ts, bd)
                    FROM led WHERE m1),
         attempts AS (SELECT actor, t1, bd, depth, {times} FROM starts)
    SELECT actor, first(bd ORDER BY depth DESC, t1) AS bd, min(t1) AS t1, {picks}
    FROM attempts GROUP BY actor
    """


def _summarise(
    engine: AnalyticsEngine,
    spec: FunnelSpec,
    reached_sql: str,
    params: dict[str, Any],
    by_group: bool,
) -> list[tuple[Any, list[FunnelStep]]]:
    n = len(spec.steps)
    aggs = ["count(t1) AS c1"]
    for k in range(2, n + 1):
        aggs.append(f"count(t{k}) AS c{k}")
        aggs.append(f"median(epoch(t{k} - t{k - 1})) AS med{k}")
        aggs.append(f"avg(epoch(t{k} - t{k - 1})) AS avg{k}")
    group = "bd" if by_group else "NULL"
    rows = engine.query(
        f"""SELECT {group} AS grp, {", ".join(aggs)} FROM ({reached_sql}) r
            GROUP BY ALL ORDER BY c1 DESC, grp NULLS LAST""",
        params,
    ).fetchall()
    out = []
    labels = [s.label or s.event for s in spec.steps]
    for row in rows:
        counts = [int(row[1])] + [int(row[2 + 3 * (k - 2)]) for k in range(2, n + 1)]
        steps = []
        for i in range(n):
            med = avg = None
            if i > 0:
                med = _f(row[3 + 3 * (i - 1)])
                avg = _f(row[4 + 3 * (i - 1)])
            steps.append(
                FunnelStep(
                    label=labels[i],
                    count=counts[i],
                    conversion_from_start=counts[i] / counts[0] if counts[0] else None,
                    conversion_from_previous=(
                        None if i == 0 else (counts[i] / counts[i - 1] if counts[i - 1] else None)
                    ),
                    median_seconds_from_previous=med,
                    avg_seconds_from_previous=avg,
                )
            )
        out.append((row[0], steps))
    return out


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def funnel(engine: AnalyticsEngine, spec: FunnelSpec) -> FunnelResult:
    """Run a funnel over the engine's ``events``. Raises ``NotFound`` without an event log and
    ``ValidationFailed`` for bad conditions."""
    engine.require("events")
    params = _Params()
    reached = _strict_sql(spec, params) if spec.order == "strict" else _relaxed_sql(spec, params)
    engine.query(f"CREATE OR REPLACE TEMP TABLE _funnel AS {reached}", params.values)
    try:
        total = _summarise(engine, spec, "SELECT * FROM _funnel", {}, False)
        steps = (
            total[0][1]
            if total
            else [
                FunnelStep(
                    label=s.label or s.event,
                    count=0,
                    conversion_from_start=None,
                    conversion_from_previous=None,
                    median_seconds_from_previous=None,
                    avg_seconds_from_previous=None,
                )
                for s in spec.steps
            ]
        )
        groups = []
        if spec.breakdown:
            groups = [
                FunnelGroup(value=None if v is None else str(v), steps=s)
                for v, s in _summarise(engine, spec, "SELECT * FROM _funnel", {}, True)
            ]
    finally:
        engine.query("DROP TABLE IF EXISTS _funnel")
    return FunnelResult(
        order=spec.order,
        window_seconds=spec.window_seconds,
        steps=steps,
        breakdown=spec.breakdown,
        groups=groups,
    )
