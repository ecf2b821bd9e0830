"""Attribution: how much of each conversion (and its revenue) each channel earned.

Input: ``touchpoints`` (one row per contact: case, channel, timestamp) and ``conversions``
(case, timestamp, value). Paths are built the same way for every case:

* every conversion inside the analysis window ``[start, end)`` ends a **converting path**: the
  case's touchpoints of the ``lookback`` before it, after the case's previous conversion (those
  belong to that one);
* a case with touchpoints in the window after its last conversion has a **non-converting
  path**: those touchpoints of the ``lookback`` before its last one. A case that converts after
  the window, within ``lookback`` of its end, has none: it is not known not to convert, and its
  conversion is outside the window.

Heuristic models (computed in DuckDB) share each conversion among its path's touchpoints:

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

Over the store (``store_attribution``) the touchpoints are the messages *sent to the customer*
(``TouchCategories``: customer-facing channels, without internal messages such as agent tasks,
CRM webhooks and account-owner notices), at the time they were sent.
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
#: "no limit" for the lookback and the window, in seconds
_FOREVER = 10**11


def attribute(
    touchpoints: Any,
    conversions: Any,
    *,
    case: str = "case_id",
    channel: str = "channel",
    timestamp: str = "timestamp",
    value: str | None = "value",
    half_life: timedelta = timedelta(days=7),
    lookback: timedelta | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> AttributionResult:
    """Attribute conversions of pandas/Arrow tables to channels with every model (``lookback``
    None: no limit; ``start``/``end``: the analysis window, naive or UTC times)."""
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
            f"""CREATE TEMP TABLE _cvall AS SELECT CAST("{case}" AS VARCHAR) AS c,
                       CAST("{timestamp}" AS TIMESTAMP) AS t, coalesce({val}, 0) AS v
                FROM _cv_src"""
        )
        _paths(con, lookback=lookback, start=_naive(start), end=_naive(end))
        return _attribute_sql(con, half_life)
    finally:
        con.close()


def _naive(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    converted: datetime = naive_utc(moment, "start")
    return converted


def _paths(
    con: duckdb.DuckDBPyConnection,
    *,
    lookback: timedelta | None,
    start: datetime | None,
    end: datetime | None,
) -> None:
    """From ``_tp(c, ch, t)`` and ``_cvall(c, t, v)`` (every conversion), the conversions in
    the window ``_cv(p, c, t, v, prev)`` and every path's touchpoints ``_path(p, ch, t, conv)``
    (``p``: the path, one per conversion and one per case that did not convert)."""
    params = {
        "lookback": int(lookback.total_seconds()) if lookback is not None else _FOREVER,
        "start": start,
        "end": end,
    }
    window = "($start IS NULL OR t >= $start::TIMESTAMP) AND ($end IS NULL OR t < $end::TIMESTAMP)"
    # every conversion in the window is one path, from the case's previous conversion on
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cv AS
            WITH ordered AS (
                SELECT c, t, v, lag(t) OVER (PARTITION BY c ORDER BY t) AS prev,
                       row_number() OVER (PARTITION BY c ORDER BY t) AS k
                FROM _cvall)
            SELECT c || '#' || k AS p, c, t, v, prev FROM ordered WHERE {window}""",
        {"start": start, "end": end},
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _path AS
        WITH converting AS (
                 SELECT cv.p, tp.ch, tp.t, true AS conv FROM _tp tp JOIN _cv cv USING (c)
                 WHERE tp.t <= cv.t AND tp.t >= cv.t - to_seconds($lookback::BIGINT)
                   AND (cv.prev IS NULL OR tp.t > cv.prev)),
             censored AS (  -- converts after the window, within the lookback of its end
                 SELECT DISTINCT c FROM _cvall
                 WHERE $end IS NOT NULL AND t >= $end::TIMESTAMP
                   AND t < $end::TIMESTAMP + to_seconds($lookback::BIGINT)),
             latest AS (  -- each case's last conversion before the end of the window
                 SELECT c, max(t) AS prev FROM _cvall
                 WHERE $end IS NULL OR t < $end::TIMESTAMP GROUP BY 1),
             open AS (  -- touches after the last conversion, before the end of the window
                 SELECT tp.c, tp.ch, tp.t FROM _tp tp LEFT JOIN latest l USING (c)
                 WHERE (l.prev IS NULL OR tp.t > l.prev)
                   AND ($end IS NULL OR tp.t < $end::TIMESTAMP)
                   AND tp.c NOT IN (SELECT c FROM censored)),
             last_touch AS (
                 SELECT c, max(t) AS last FROM open
                 WHERE $start IS NULL OR t >= $start::TIMESTAMP GROUP BY 1)
        SELECT * FROM converting
        UNION ALL
        SELECT o.c || '#open' AS p, o.ch, o.t, false AS conv FROM open o
        JOIN last_touch lt USING (c)
        WHERE o.t >= lt.last - to_seconds($lookback::BIGINT)""",
        params,
    )


def _attribute_sql(con: duckdb.DuckDBPyConnection, half_life: timedelta) -> AttributionResult:
    """Attribution over the temp tables ``_cv(p, t, v)`` and ``_path(p, ch, t, conv)``."""
    half = float(half_life.total_seconds())
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _w AS
        WITH j AS (SELECT path.p, path.ch, path.t, cv.t AS ct, cv.v FROM _path path
                   JOIN _cv cv USING (p) WHERE path.conv),
             r AS (SELECT *, row_number() OVER (PARTITION BY p ORDER BY t, ch) AS rn,
                          count(*) OVER (PARTITION BY p) AS n,
                          pow(2.0, -epoch(ct - t) / {half}) AS decay FROM j)
        SELECT p, ch, v,
               CASE WHEN rn = 1 THEN 1.0 ELSE 0.0 END AS first_touch,
               CASE WHEN rn = n THEN 1.0 ELSE 0.0 END AS last_touch,
               1.0 / n AS linear,
               decay / sum(decay) OVER (PARTITION BY p) AS time_decay,
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
        "SELECT count(*), coalesce(sum(v), 0) FROM _cv WHERE p IN (SELECT p FROM _w)"
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
    paths = con.execute(
        "SELECT count(DISTINCT p) FILTER (WHERE conv), count(DISTINCT p) FILTER (WHERE NOT conv) "
        "FROM _path"
    ).fetchone()
    assert paths is not None
    return AttributionResult(
        conversions=conversions,
        revenue=revenue,
        models=models,
        removal_effects=effects,
        converting_paths=int(paths[0]),
        non_converting_paths=int(paths[1]),
    )


def _markov(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    # transitions of every path, counted in SQL
    edges = con.execute(
        """
        WITH o AS (SELECT p, ch, conv, lag(ch) OVER w AS prev, lead(ch) OVER w AS nxt
                   FROM _path WINDOW w AS (PARTITION BY p ORDER BY t, ch)),
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
    customer_channels: list[str],
    internal_builtins: list[str] = (),  # type: ignore[assignment]
    by: str = "channel",
    lookback: timedelta = timedelta(days=30),
    start: datetime | None = None,
    end: datetime | None = None,
    half_life: timedelta = timedelta(days=7),
) -> AttributionResult:
    """Attribute ``conversion_event`` events (value: ``properties.revenue``) in the window to
    the messages sent to the customer before them, by ``channel``, ``template`` or
    ``category``. Only messages on ``customer_channels`` count, without built-in messages named
    in ``internal_builtins`` (``payload.builtin``: e.g. notices to an account owner)."""
    if by not in {"channel", "template", "category"}:
        raise ValidationFailed("by must be channel, template or category", field="by")
    if lookback.total_seconds() <= 0:
        raise ValidationFailed("lookback must be positive", field="lookback")
    engine.require("events", "messages")
    if not customer_channels:
        raise ValidationFailed("name at least one customer channel", field="customer_channels")
    engine.query(
        """CREATE OR REPLACE TEMP TABLE _cvall AS
            SELECT profile_id AS c, "timestamp" AS t,
                   coalesce(TRY_CAST(json_extract_string(properties, '$.revenue') AS DOUBLE), 0)
                       AS v
            FROM events WHERE event = $conv AND profile_id IS NOT NULL""",
        {"conv": conversion_event},
    )
    builtin = (
        "AND coalesce(json_extract_string(m.payload, '$.builtin'), '') NOT IN "
        "(SELECT unnest($internal::VARCHAR[]))"
        if internal_builtins and "payload" in engine.columns.get("messages", {})
        else ""
    )
    engine.query(
        f"""CREATE OR REPLACE TEMP TABLE _tp AS
            SELECT m.profile_id AS c, CAST(m.{by} AS VARCHAR) AS ch, m.sent_at AS t
            FROM messages m
            WHERE m.sent_at IS NOT NULL AND m.{by} IS NOT NULL
              AND m.channel IN (SELECT unnest($channels::VARCHAR[])) {builtin}""",
        {
            "channels": list(customer_channels),
            **({"internal": list(internal_builtins)} if builtin else {}),
        },
    )
    try:
        _paths(
            engine.con,
            lookback=lookback,
            start=naive_utc(start, "start"),
            end=naive_utc(end, "end"),
        )
        return _attribute_sql(engine.con, half_life)
    finally:
        for name in ("_cvall", "_cv", "_tp", "_path", "_w"):
            engine.query(f"DROP TABLE IF EXISTS {name}")
