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
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def _arrow(table: Any) -> pa.Table:
    """The input as an Arrow table, without copying where the input is Arrow-backed."""
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pd.DataFrame):
        return pa.Table.from_pandas(table, preserve_index=False)
    if isinstance(table, duckdb.DuckDBPyRelation):
        return table.to_arrow_table()
    raise ValidationFailed(
        "a process map needs a pandas DataFrame, an Arrow table or a DuckDB relation",
        field="table",
    )


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Dictionary codes (int32, -1 for null) and the distinct values of a column."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    return codes, encoded.dictionary


def process_map(
    table: Any,
    *,
    case: str = "case_id",
    activity: str = "activity",
    timestamp: str = "timestamp",
    top_variants: int = 10,
) -> ProcessMap:
    """The process map of ``table`` (pandas DataFrame, Arrow table or DuckDB relation).

    Case ids and activities are dictionary-encoded in Arrow first (a hash pass, no sort of the
    strings), so DuckDB orders and groups small integers. Raises ``ValidationFailed`` naming
    the argument when a column is missing.
    """
    arrow = _arrow(table)
    columns = [str(c) for c in arrow.column_names]
    for name, field in ((case, "case"), (activity, "activity"), (timestamp, "timestamp")):
        if name not in columns:
            raise ValidationFailed(
                f"column {name!r} not in the table ({', '.join(columns)})", field=field
            )
    case_codes, _ = _codes(arrow.column(case))
    activities = arrow.column(activity)
    if not pa.types.is_string(activities.type) and not pa.types.is_large_string(activities.type):
        activities = pc.cast(activities, pa.string())
    activity_codes, values = _codes(activities)
    names = [str(v) for v in values.to_pylist()]
    # codes in name order (1-based): events at the same moment are ordered by activity name
    rank = np.empty(len(names), dtype=np.int32)
    rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(
        1, len(names) + 1, dtype=np.int32
    )
    k = np.where(activity_codes >= 0, rank[np.maximum(activity_codes, 0)], 0).astype(np.int32)
    stamps = arrow.column(timestamp)
    encoded = pa.table({"c": case_codes, "k": k, "t": stamps})
    con = duckdb.connect(":memory:")
    try:
        con.register("_log_source", encoded)
        moment = (
            "epoch_us(t)"
            if pa.types.is_timestamp(stamps.type)
            else ("epoch_us(CAST(t AS TIMESTAMP))")
        )
        con.execute(
            f"""CREATE TEMP VIEW _log AS SELECT c, k, {moment} AS t FROM _log_source
                WHERE c >= 0 AND k > 0 AND t IS NOT NULL"""
        )
        return _process_map_sql(con, "_log", sorted(names), top_variants)
    finally:
        con.close()


def _process_map_sql(
    con: duckdb.DuckDBPyConnection, source: str, activities: list[str], top_variants: int
) -> ProcessMap:
    """Process map of a relation with columns ``c`` (case), ``k`` (activity code: position in
    ``activities``, 1-based, which is sorted by name) and ``t`` (time in microseconds).

    A variant is keyed by ``sum(hash(code, position))`` over its events, an order-free
    aggregate, and only the top variants are spelled out from one representative case each.
    """
    if top_variants < 0:
        raise ValidationFailed("top_variants cannot be negative", field="top_variants")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ordered AS
            SELECT c, k, t, lead(k) OVER w AS nk, lead(t) OVER w AS nt,
                   row_number() OVER w AS rn
            FROM {source}
            WINDOW w AS (PARTITION BY c ORDER BY t, k)"""
    )
    try:
        names = {i + 1: a for i, a in enumerate(activities)}
        names[0], names[-1] = START, END
        nodes = con.execute(
            """SELECT k, count(*) AS events, count(DISTINCT c) AS cases
               FROM _ordered GROUP BY k ORDER BY events DESC, k"""
        ).fetchall()
        edges = con.execute(
            """
            WITH e AS (
                SELECT k AS s, nk AS d, (nt - t) / 1e6 AS dur FROM _ordered
                WHERE nk IS NOT NULL
                UNION ALL SELECT 0, k, NULL FROM _ordered WHERE rn = 1
                UNION ALL SELECT k, -1, NULL FROM _ordered WHERE nk IS NULL)
            SELECT s, d, count(*) AS n, avg(dur), median(dur)
            FROM e GROUP BY s, d ORDER BY n DESC, s, d
            """
        ).fetchall()
        variants = con.execute(
            f"""
            WITH v AS (SELECT c, sum(hash(k, rn)) AS key, (max(t) - min(t)) / 1e6 AS dur
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


def _coded_log(
    engine: AnalyticsEngine, name: str, select: str, params: dict[str, Any]
) -> list[str]:
    """Create temp table ``name`` (c, k, t in microseconds) from ``select`` (columns c, a, t)
    and return the activity names in code order."""
    engine.query(f"CREATE OR REPLACE TEMP TABLE {name}_raw AS {select}", params)
    activities = [
        str(r[0]) for r in engine.query(f"SELECT DISTINCT a FROM {name}_raw ORDER BY a").fetchall()
    ]
    engine.query(
        f"""CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT c, list_position($acts, a)::INTEGER AS k, epoch_us(t) AS t FROM {name}_raw""",
        {"acts": activities},
    )
    engine.query(f"DROP TABLE IF EXISTS {name}_raw")
    return activities


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
    activities = _coded_log(
        engine,
        "_journey_log",
        f"""SELECT CAST(instance_id AS VARCHAR) AS c, CAST(node_id AS VARCHAR) AS a, "at" AS t
            FROM journey_transitions WHERE {where}""",
        params,
    )
    try:
        return _process_map_sql(engine.con, "_journey_log", activities, top_variants)
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
    activities = _coded_log(
        engine,
        "_conv_log",
        f"""WITH ev AS (SELECT coalesce(profile_id, user_id, anonymous_id) AS actor,
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
        return _process_map_sql(engine.con, "_conv_log", activities, top_variants)
    finally:
        engine.query("DROP TABLE IF EXISTS _conv_log")
