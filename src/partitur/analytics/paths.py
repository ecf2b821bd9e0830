"""Paths and process maps: the directly-follows graph (with frequencies and durations) and the
top variants (whole activity sequences) of a case log.

``process_map(table, case=..., activity=..., timestamp=...)`` works on any pandas DataFrame or
Arrow table; ``journey_process_map`` on a journey's transitions in the store, and
``conversion_paths`` on the raw events that precede a conversion event. Every figure comes from
one DuckDB pass; nothing iterates over events in Python.

Synthetic ``START`` and ``END`` nodes frame every case, so the edges out of ``START`` count how
cases begin and the edges into ``END`` how they finish. Events with the same timestamp are
ordered by activity name.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import duckdb

from partitur.analytics.contracts import ProcessEdge, ProcessMap, ProcessNode, Variant
from partitur.analytics.engine import AnalyticsEngine, naive_utc
from partitur.core.errors import ValidationFailed

START = "START"
END = "END"


def _ident(name: str, field: str, columns: list[str]) -> str:
    if name not in columns:
        raise ValidationFailed(
            f"column {name!r} not in the table ({', '.join(columns)})", field=field
        )
    return '"' + name.replace('"', '""') + '"'


def process_map(
    table: Any,
    *,
    case: str = "case_id",
    activity: str = "activity",
    timestamp: str = "timestamp",
    top_variants: int = 10,
) -> ProcessMap:
    """The process map of ``table`` (pandas DataFrame, Arrow table or DuckDB relation).

    Raises ``ValidationFailed`` naming the argument when a column is missing.
    """
    con = duckdb.connect(":memory:")
    try:
        con.register("_log_source", table)
        columns = [str(c[0]) for c in con.execute("DESCRIBE _log_source").fetchall()]
        c = _ident(case, "case", columns)
        a = _ident(activity, "activity", columns)
        t = _ident(timestamp, "timestamp", columns)
        con.execute(
            f"""CREATE TEMP VIEW _log AS
                SELECT {c} AS c, CAST({a} AS VARCHAR) AS a,
                       CAST({t} AS TIMESTAMP) AS t
                FROM _log_source WHERE {c} IS NOT NULL AND {a} IS NOT NULL AND {t} IS NOT NULL"""
        )
        return _process_map_sql(con, "_log", top_variants)
    finally:
        con.close()


def _process_map_sql(con: duckdb.DuckDBPyConnection, source: str, top_variants: int) -> ProcessMap:
    """Process map of a relation with columns ``c`` (case), ``a`` (activity), ``t`` (time).

    Activities are coded as small integers first (cheaper sorting and grouping); a variant is
    keyed by ``sum(hash(code, position))`` over its events, an order-free aggregate, and only
    the top variants are spelled out from one representative case each.
    """
    if top_variants < 0:
        raise ValidationFailed("top_variants cannot be negative", field="top_variants")
    activities = [
        str(r[0]) for r in con.execute(f"SELECT DISTINCT a FROM {source} ORDER BY a").fetchall()
    ]
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ordered AS
            SELECT c, k, t, lead(k) OVER w AS nk, lead(t) OVER w AS nt,
                   row_number() OVER w AS rn
            FROM (SELECT c, t, list_position($acts, a)::INTEGER AS k FROM {source})
            WINDOW w AS (PARTITION BY c ORDER BY t, k)""",
        {"acts": activities},
    )
    try:
        names = {i + 1: a for i, a in enumerate(activities)}
        names[0], names[-1] = START, END
        nodes = con.execute(
            """SELECT k, sum(n) AS events, count(*) AS cases
               FROM (SELECT k, c, count(*) AS n FROM _ordered GROUP BY k, c)
               GROUP BY k ORDER BY events DESC, k"""
        ).fetchall()
        edges = con.execute(
            """
            WITH e AS (
                SELECT c, k AS s, nk AS d, epoch(nt - t) AS dur FROM _ordered
                WHERE nk IS NOT NULL
                UNION ALL SELECT c, 0, k, NULL FROM _ordered WHERE rn = 1
                UNION ALL SELECT c, k, -1, NULL FROM _ordered WHERE nk IS NULL)
            SELECT s, d, count(*) AS n, avg(dur), median(dur)
            FROM e GROUP BY s, d ORDER BY n DESC, s, d
            """
        ).fetchall()
        variants = con.execute(
            f"""
            WITH v AS (SELECT c, sum(hash(k, rn)) AS key, epoch(max(t) - min(t)) AS dur
                       FROM _ordered GROUP BY c),
                 top AS (SELECT key, count(*) AS n, median(dur) AS dur, min(c) AS example,
                                sum(count(*)) OVER () AS total
                         FROM v GROUP BY key ORDER BY n DESC, example
                         LIMIT {max(1, int(top_variants))})
            SELECT top.n, top.dur, list(o.k ORDER BY o.rn) AS path, top.total
            FROM top JOIN _ordered o ON o.c = top.example
            GROUP BY top.key, top.n, top.dur, top.total ORDER BY top.n DESC, path
            """
        ).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _ordered")
    cases = int(variants[0][3]) if variants else 0
    events = sum(int(n) for _, n, _ in nodes)
    return ProcessMap(
        cases=cases,
        events=events,
        nodes=[
            ProcessNode(activity=names[int(k)], events=int(n), cases=int(m)) for k, n, m in nodes
        ],
        edges=[
            ProcessEdge(
                source=names[int(s)],
                target=names[int(t)],
                count=int(n),
                mean_seconds=None if m is None else float(m),
                median_seconds=None if md is None else float(md),
            )
            for s, t, n, m, md in edges
        ],
        variants=[
            Variant(
                activities=[names[int(x)] for x in path],
                cases=int(n),
                share=int(n) / cases if cases else 0.0,
                median_case_seconds=None if d is None else float(d),
            )
            for n, d, path, _ in variants[:top_variants]
        ],
    )


def journey_process_map(
    engine: AnalyticsEngine,
    *,
    journey_id: str,
    version: int | None = None,
    top_variants: int = 10,
) -> ProcessMap:
    """The paths instances took through a journey (case = instance, activity = node)."""
    engine.require("journey_transitions")
    where = "journey_id = $journey_id AND node_id IS NOT NULL"
    params: dict[str, Any] = {"journey_id": journey_id}
    if version is not None:
        where += " AND version = $version"
        params["version"] = version
    engine.query(
        f"""CREATE OR REPLACE TEMP TABLE _journey_log AS
            SELECT CAST(instance_id AS VARCHAR) AS c, CAST(node_id AS VARCHAR) AS a, "at" AS t
            FROM journey_transitions WHERE {where}""",
        params,
    )
    try:
        return _process_map_sql(engine.con, "_journey_log", top_variants)
    finally:
        engine.query("DROP TABLE IF EXISTS _journey_log")


def conversion_paths(
    engine: AnalyticsEngine,
    *,
    conversion_event: str,
    lookback: timedelta = timedelta(days=30),
    start: datetime | None = None,
    end: datetime | None = None,
    top_variants: int = 10,
) -> ProcessMap:
    """Which events precede a conversion: for every actor's first ``conversion_event`` (in the
    range), the actor's events within ``lookback`` before it, ending in the conversion."""
    engine.require("events")
    if lookback.total_seconds() <= 0:
        raise ValidationFailed("lookback must be positive", field="lookback")
    where = ["event = $conv"]
    params: dict[str, Any] = {"conv": conversion_event}
    if start is not None:
        where.append('"timestamp" >= $start')
        params["start"] = naive_utc(start, "start")
    if end is not None:
        where.append('"timestamp" < $end')
        params["end"] = naive_utc(end, "end")
    params["lookback"] = int(lookback.total_seconds())
    engine.query(
        f"""CREATE OR REPLACE TEMP TABLE _conv_log AS
            WITH ev AS (SELECT coalesce(profile_id, user_id, anonymous_id) AS actor,
                               "timestamp" AS ts, event FROM events WHERE event IS NOT NULL),
                 conv AS (SELECT actor, min(ts) AS at FROM ev
                          WHERE {" AND ".join(where).replace('"timestamp"', "ts")}
                          GROUP BY actor)
            SELECT ev.actor AS c, ev.event AS a, ev.ts AS t
            FROM ev JOIN conv USING (actor)
            WHERE ev.ts <= conv.at AND ev.ts >= conv.at - to_seconds($lookback::BIGINT)
              AND (ev.event <> $conv OR ev.ts = conv.at)""",
        params,
    )
    try:
        return _process_map_sql(engine.con, "_conv_log", top_variants)
    finally:
        engine.query("DROP TABLE IF EXISTS _conv_log")
