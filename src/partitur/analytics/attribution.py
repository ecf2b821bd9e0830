"""Attribution: how much of each conversion (and its revenue) each channel earned.

Input: ``touchpoints`` (one row per contact: case, channel, timestamp) and ``conversions``
(case, timestamp, value; the first conversion of a case counts). Touchpoints after a case's
conversion are ignored. Heuristic models are computed in DuckDB:

* ``first_touch`` / ``last_touch``: all credit to the first / last touchpoint;
* ``linear``: equal shares;
* ``time_decay``: weight ``2^(-age / half_life)`` with age = conversion time - touch time,
  normalised per conversion;
* ``position_based``: 40 % first, 40 % last, 20 % shared by the ones between (one touch: 100 %,
  two: 50/50).

``markov`` is data-driven: a first-order Markov chain over channel states (with START,
CONVERSION and NULL) built from converting and non-converting paths; a channel's removal effect
is the relative drop of the conversion probability when the channel is removed (its
transitions lead to NULL); conversions are shared in proportion to the removal effects.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np

from partitur.analytics.contracts import AttributionResult, ChannelCredit
from partitur.analytics.engine import AnalyticsEngine, naive_utc
from partitur.core.errors import ValidationFailed

MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov")


def attribute(
    touchpoints: Any,
    conversions: Any,
    *,
    case: str = "case_id",
    channel: str = "channel",
    timestamp: str = "timestamp",
    value: str | None = "value",
    half_life: timedelta = timedelta(days=7),
) -> AttributionResult:
    """Attribute conversions of pandas/Arrow tables to channels with every model."""
    if half_life.total_seconds() <= 0:
        raise ValidationFailed("half_life must be positive", field="half_life")
    con = duckdb.connect(":memory:")
    try:
        con.register("_tp_src", touchpoints)
        con.register("_cv_src", conversions)
        tp_cols = [str(r[0]) for r in con.execute("DESCRIBE _tp_src").fetchall()]
        cv_cols = [str(r[0]) for r in con.execute("DESCRIBE _cv_src").fetchall()]
        for name, cols, field in (
            (case, tp_cols, "case"),
            (channel, tp_cols, "channel"),
            (timestamp, tp_cols, "timestamp"),
            (case, cv_cols, "case"),
            (timestamp, cv_cols, "timestamp"),
        ):
            if name not in cols:
                raise ValidationFailed(f"column {name!r} is missing", field=field)
        val = f'CAST("{value}" AS DOUBLE)' if value and value in cv_cols else "0.0"
        con.execute(
            f"""CREATE TEMP TABLE _tp AS SELECT CAST("{case}" AS VARCHAR) AS c,
                       CAST("{channel}" AS VARCHAR) AS ch, CAST("{timestamp}" AS TIMESTAMP) AS t
                FROM _tp_src WHERE "{channel}" IS NOT NULL"""
        )
        con.execute(
            f"""CREATE TEMP TABLE _cv AS SELECT CAST("{case}" AS VARCHAR) AS c,
                       min(CAST("{timestamp}" AS TIMESTAMP)) AS t,
                       coalesce(arg_min({val}, CAST("{timestamp}" AS TIMESTAMP)), 0) AS v
                FROM _cv_src GROUP BY 1"""
        )
        return _attribute_sql(con, half_life)
    finally:
        con.close()


def _attribute_sql(con: duckdb.DuckDBPyConnection, half_life: timedelta) -> AttributionResult:
    """Attribution over temp tables ``_tp(c, ch, t)`` and ``_cv(c, t, v)``."""
    half = float(half_life.total_seconds())
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _w AS
        WITH j AS (SELECT tp.c, tp.ch, tp.t, cv.t AS ct, cv.v FROM _tp tp JOIN _cv cv USING (c)
                   WHERE tp.t <= cv.t),
             r AS (SELECT *, row_number() OVER (PARTITION BY c ORDER BY t, ch) AS rn,
                          count(*) OVER (PARTITION BY c) AS n,
                          pow(2.0, -epoch(ct - t) / {half}) AS decay FROM j)
        SELECT c, ch, v,
               CASE WHEN rn = 1 THEN 1.0 ELSE 0.0 END AS first_touch,
               CASE WHEN rn = n THEN 1.0 ELSE 0.0 END AS last_touch,
               1.0 / n AS linear,
               decay / sum(decay) OVER (PARTITION BY c) AS time_decay,
               CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5
                    WHEN rn = 1 OR rn = n THEN 0.4 ELSE 0.2 / (n - 2) END AS position_based
        FROM r"""
    )
    heuristics = MODELS[:-1]
    sums = ", ".join(f"sum({m}) AS {m}, sum({m} * v) AS {m}_rev" for m in heuristics)
    rows = con.execute(f"SELECT ch, {sums} FROM _w GROUP BY ch ORDER BY ch").fetchall()
    models: dict[str, list[ChannelCredit]] = {m: [] for m in MODELS}
    for row in rows:
        for i, m in enumerate(heuristics):
            models[m].append(
                ChannelCredit(
                    channel=str(row[0]),
                    conversions=float(row[1 + 2 * i]),
                    revenue=float(row[2 + 2 * i]),
                )
            )
    totals = con.execute(
        "SELECT count(*), coalesce(sum(v), 0) FROM _cv WHERE c IN (SELECT c FROM _w)"
    ).fetchone()
    assert totals is not None
    conversions, revenue = int(totals[0]), float(totals[1])
    effects = _markov(con)
    total_effect = sum(effects.values())
    for ch, effect in sorted(effects.items()):
        share = effect / total_effect if total_effect > 0 else 0.0
        models["markov"].append(
            ChannelCredit(channel=ch, conversions=share * conversions, revenue=share * revenue)
        )
    for m in MODELS:
        models[m].sort(key=lambda credit: (-credit.conversions, credit.channel))
    return AttributionResult(
        conversions=conversions, revenue=revenue, models=models, removal_effects=effects
    )


def _markov(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    # transitions of every path (touchpoints up to the conversion, or all of them when the case
    # never converted), counted in SQL
    edges = con.execute(
        """
        WITH p AS (SELECT tp.c, tp.ch, tp.t, cv.c IS NOT NULL AS conv FROM _tp tp
                   LEFT JOIN _cv cv USING (c) WHERE cv.t IS NULL OR tp.t <= cv.t),
             o AS (SELECT c, ch, conv, lag(ch) OVER w AS prev, lead(ch) OVER w AS nxt
                   FROM p WINDOW w AS (PARTITION BY c ORDER BY t, ch)),
             e AS (SELECT '(start)' AS a, ch AS b FROM o WHERE prev IS NULL
                   UNION ALL SELECT ch, nxt FROM o WHERE nxt IS NOT NULL
                   UNION ALL SELECT ch, CASE WHEN conv THEN '(conversion)' ELSE '(null)' END
                             FROM o WHERE nxt IS NULL)
        SELECT a, b, count(*) FROM e GROUP BY 1, 2
        """
    ).fetchall()
    named = {str(a) for a, _, _ in edges} | {str(b) for _, b, _ in edges}
    channels = sorted(named - {"(start)", "(conversion)", "(null)"})
    if not channels:
        return {}
    states = ["(start)", *channels, "(conversion)", "(null)"]
    index = {s: i for i, s in enumerate(states)}
    counts = np.zeros((len(states), len(states)))
    src = np.array([index[str(a)] for a, _, _ in edges])
    dst = np.array([index[str(b)] for _, b, _ in edges])
    np.add.at(counts, (src, dst), np.array([float(n) for _, _, n in edges]))
    transient = len(states) - 2

    def conversion_probability(removed: int | None) -> float:
        q = counts.copy()
        if removed is not None:
            # everything that would reach the removed channel goes to NULL instead
            q[:, index["(null)"]] += q[:, removed]
            q[:, removed] = 0.0
            q[removed, :] = 0.0
        rows = q.sum(axis=1, keepdims=True)
        prob = np.divide(q, rows, out=np.zeros_like(q), where=rows > 0)
        t = prob[:transient, :transient]
        r = prob[:transient, index["(conversion)"]]
        absorbed = np.linalg.solve(np.eye(transient) - t, r)
        return float(absorbed[0])

    base = conversion_probability(None)
    if base <= 0:
        return {ch: 0.0 for ch in channels}
    return {ch: max(0.0, 1.0 - conversion_probability(index[ch]) / base) for ch in channels}


def store_attribution(
    engine: AnalyticsEngine,
    *,
    conversion_event: str,
    by: str = "channel",
    lookback: timedelta = timedelta(days=30),
    start: datetime | None = None,
    end: datetime | None = None,
    half_life: timedelta = timedelta(days=7),
) -> AttributionResult:
    """Attribute ``conversion_event`` events (value: ``properties.revenue``) to the messages
    sent to the profile within ``lookback`` before, by ``channel`` or ``template``."""
    if by not in {"channel", "template", "category"}:
        raise ValidationFailed("by must be channel, template or category", field="by")
    engine.require("events", "messages")
    where = ["event = $conv", "profile_id IS NOT NULL"]
    params: dict[str, Any] = {"conv": conversion_event}
    if start is not None:
        where.append('"timestamp" >= $start')
        params["start"] = naive_utc(start, "start")
    if end is not None:
        where.append('"timestamp" < $end')
        params["end"] = naive_utc(end, "end")
    engine.query(
        f"""CREATE OR REPLACE TEMP TABLE _cv AS
            SELECT profile_id AS c, min("timestamp") AS t,
                   coalesce(arg_min(TRY_CAST(json_extract_string(properties, '$.revenue')
                                             AS DOUBLE), "timestamp"), 0) AS v
            FROM events WHERE {" AND ".join(where)} GROUP BY 1""",
        params,
    )
    engine.query(
        f"""CREATE OR REPLACE TEMP TABLE _tp AS
            SELECT m.profile_id AS c, CAST(m.{by} AS VARCHAR) AS ch, m.sent_at AS t
            FROM messages m LEFT JOIN _cv ON _cv.c = m.profile_id
            WHERE m.sent_at IS NOT NULL AND m.{by} IS NOT NULL
              AND (_cv.t IS NULL OR m.sent_at >= _cv.t - to_seconds($lb::BIGINT))""",
        {"lb": int(lookback.total_seconds())},
    )
    try:
        return _attribute_sql(engine.con, half_life)
    finally:
        for name in ("_cv", "_tp", "_w"):
            engine.query(f"DROP TABLE IF EXISTS {name}")
