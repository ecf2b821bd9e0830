"""Measure a journey map against what customers really did (DuckDB over the event log).

Each touchpoint names the events that make it up; a customer "is in" a stage when they touched
one of its touchpoints in the period. Conversion to the next stage counts the stage's customers
who touch the next stage at or after their first touch of this one. All of it is set-based SQL.

A stage none of whose events occurred in the period is *not measured*: it shows no figures, and
the stage before it no conversion, because zero customers there says nothing about customers
lost (a map naming an event the sources never send would otherwise show a 100 % drop-off).
The last stage has no next stage; its drop-off is the share of its customers not seen at any
other stage of the map afterwards in the period (for an "end of relationship" stage: those who
did not come back), so pain points there get an impact too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from partitur.analytics import service as analytics
from partitur.analytics.service import AnalyticsEngine, naive_utc
from partitur.journey_maps.contracts import (
    EventMatcher,
    JourneyMapDocument,
    MapMeasurement,
    SatisfactionSource,
    StageMeasure,
    Taxonomy,
    TouchpointMeasure,
)
from partitur.journey_maps.ports import sentiment_of

#: How many texts per touchpoint go to sentiment scoring (the most recent ones).
TEXT_SAMPLE = 500


def _literal(value: Any) -> str:
    return analytics.sql_literal(value)


def _path(prop: str) -> str:
    return analytics.json_path(prop)


def _matcher_sql(m: EventMatcher | SatisfactionSource) -> str:
    return analytics.event_condition_sql(m.event, m.where)


def _hits_sql(document: JourneyMapDocument, order: dict[str, int]) -> str | None:
    selects = []
    for stage in document.stages:
        for tp in stage.touchpoints:
            for m in tp.events:
                selects.append(
                    f"SELECT {_literal(stage.key)} AS stage, {order[stage.key]} AS pos, "
                    f"{_literal(tp.id)} AS touchpoint, profile_id, timestamp, properties "
                    f"FROM events WHERE profile_id IS NOT NULL AND timestamp >= $since "
                    f"AND timestamp < $until AND {_matcher_sql(m)}"
                )
    return " UNION ALL ".join(selects) if selects else None


def measure_map(
    engine: AnalyticsEngine,
    *,
    document: JourneyMapDocument,
    taxonomy: Taxonomy,
    since: datetime,
    until: datetime,
    with_sentiment: bool = True,
) -> MapMeasurement:
    """Volume, customers, conversion, drop-off, satisfaction, sentiment and measured emotion per
    stage and touchpoint of ``document`` between ``since`` and ``until``."""
    engine.require("events")
    names = {s.key: s.name for s in taxonomy.stages}
    order = {s.key: i for i, s in enumerate(document.stages)}
    params = {"since": naive_utc(since, "since"), "until": naive_utc(until, "until")}
    tp_stats: dict[str, dict[str, Any]] = {}
    stage_stats: dict[str, dict[str, Any]] = {}
    conversions: dict[str, tuple[int, int]] = {}
    retained = (0, 0)
    hits = _hits_sql(document, order)
    if hits:
        engine.con.execute(f"CREATE OR REPLACE TEMP TABLE map_hits AS {hits}", params)
        for tp, events, customers in engine.con.execute(
            "SELECT touchpoint, count(*), count(DISTINCT profile_id) FROM map_hits GROUP BY 1"
        ).fetchall():
            tp_stats[tp] = {"events": int(events), "customers": int(customers)}
        for stage, events, customers in engine.con.execute(
            "SELECT stage, count(*), count(DISTINCT profile_id) FROM map_hits GROUP BY 1"
        ).fetchall():
            stage_stats[stage] = {"events": int(events), "customers": int(customers)}
        rows = engine.con.execute(
            """
            WITH spans AS (
                SELECT profile_id, pos, min(timestamp) AS first_at, max(timestamp) AS last_at
                FROM map_hits GROUP BY profile_id, pos
            )
            SELECT a.pos, count(*) AS entered, count(b.profile_id) AS converted
            FROM spans a LEFT JOIN spans b
              ON b.profile_id = a.profile_id AND b.pos = a.pos + 1 AND b.last_at >= a.first_at
            GROUP BY a.pos
            """
        ).fetchall()
        by_pos = {int(pos): (int(e), int(c)) for pos, e, c in rows}
        for key, pos in order.items():
            conversions[key] = by_pos.get(pos, (0, 0))
        final = len(document.stages) - 1
        kept = engine.con.execute(
            """
            WITH spans AS (
                SELECT profile_id, min(timestamp) AS first_at FROM map_hits WHERE pos = $last
                GROUP BY profile_id
            )
            SELECT count(*), count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM map_hits h WHERE h.profile_id = spans.profile_id
                  AND h.pos <> $last AND h.timestamp > spans.first_at))
            FROM spans
            """,
            {"last": final},
        ).fetchone()
        retained = (int(kept[0]), int(kept[1])) if kept else (0, 0)
    satisfaction = _satisfaction(engine, document, params)
    sentiment = _sentiment(engine, document, params) if with_sentiment and hits else {}

    touchpoints: list[TouchpointMeasure] = []
    stages: list[StageMeasure] = []
    last = len(document.stages) - 1
    for i, stage in enumerate(document.stages):
        sat_values: list[tuple[float, int]] = []
        sent_values: list[tuple[float, int]] = []
        for tp in stage.touchpoints:
            stats = tp_stats.get(tp.id, {"events": 0, "customers": 0})
            sat, answers = satisfaction.get(tp.id, (None, 0))
            sent, texts = sentiment.get(tp.id, (None, 0))
            touchpoints.append(
                TouchpointMeasure(
                    touchpoint=tp.id,
                    stage=stage.key,
                    events=stats["events"],
                    customers=stats["customers"],
                    satisfaction=sat,
                    satisfaction_answers=answers,
                    sentiment=sent,
                    texts=texts,
                )
            )
            if sat is not None:
                sat_values.append((sat, answers))
            if sent is not None:
                sent_values.append((sent, texts))
        entered, converted = conversions.get(stage.key, (0, 0))
        measured = stage.key in stage_stats
        following = document.stages[i + 1].key if i < last else None
        conversion: float | None = None
        drop_off: float | None = None
        note: str | None = None
        if not measured:
            note = "no event of this stage in the period: not measured"
        elif following is not None and following not in stage_stats:
            note = "next stage not measured"
        elif following is not None and entered:
            conversion = converted / entered
            drop_off = 1 - conversion
        elif following is None and retained[0]:
            drop_off = 1 - retained[1] / retained[0]
            note = "last stage: drop-off = customers not seen at another stage afterwards"
        stage_sat = _weighted(sat_values)
        stage_sent = _weighted(sent_values)
        stages.append(
            StageMeasure(
                stage=stage.key,
                name=names.get(stage.key, stage.key),
                measured=measured,
                customers=stage_stats.get(stage.key, {}).get("customers", 0),
                events=stage_stats.get(stage.key, {}).get("events", 0),
                conversion_to_next=conversion,
                drop_off=drop_off,
                note=note,
                satisfaction=stage_sat,
                sentiment=stage_sent,
                designed_emotion=stage.emotion,
                measured_emotion=measured_emotion(stage_sat, stage_sent),
            )
        )
    return MapMeasurement(
        map_key=document.key, since=since, until=until, stages=stages, touchpoints=touchpoints
    )


def _weighted(values: list[tuple[float, int]]) -> float | None:
    total = sum(n for _, n in values)
    if not total:
        return None
    return sum(v * n for v, n in values) / total


def measured_emotion(satisfaction: float | None, sentiment: float | None) -> float | None:
    """Put measured satisfaction (0-100) and sentiment (-1..1) on the map's -2..+2 scale."""
    parts = []
    if satisfaction is not None:
        parts.append((satisfaction - 50) / 25)
    if sentiment is not None:
        parts.append(sentiment * 2)
    if not parts:
        return None
    return max(-2.0, min(2.0, sum(parts) / len(parts)))


def _satisfaction(
    engine: AnalyticsEngine, document: JourneyMapDocument, params: dict[str, Any]
) -> dict[str, tuple[float | None, int]]:
    selects = []
    for stage in document.stages:
        for tp in stage.touchpoints:
            src = tp.satisfaction
            if src is None:
                continue
            value = f"TRY_CAST(json_extract_string(properties, {_path(src.property)}) AS DOUBLE)"
            # the one satisfaction scale: the top-2-box share (analytics.scores)
            score = analytics.satisfaction_sql(src.scale, "v")
            selects.append(
                f"SELECT {_literal(tp.id)} AS touchpoint, {score} AS score FROM "
                f"(SELECT {value} AS v FROM events WHERE timestamp >= $since "
                f"AND timestamp < $until AND {_matcher_sql(src)}) "
                f"WHERE {score} IS NOT NULL"
            )
    if not selects:
        return {}
    rows = engine.con.execute(
        f"SELECT touchpoint, avg(score), count(*) FROM ({' UNION ALL '.join(selects)}) GROUP BY 1",
        params,
    ).fetchall()
    return {tp: (float(avg), int(n)) for tp, avg, n in rows}


def _sentiment(
    engine: AnalyticsEngine, document: JourneyMapDocument, params: dict[str, Any]
) -> dict[str, tuple[float | None, int]]:
    wanted = {
        tp.id: tp.text_property for s in document.stages for tp in s.touchpoints if tp.text_property
    }
    if not wanted:
        return {}
    result: dict[str, tuple[float | None, int]] = {}
    for tp_id, prop in wanted.items():
        texts = [
            r[0]
            for r in engine.con.execute(
                f"SELECT json_extract_string(properties, {_path(str(prop))}) AS t FROM map_hits "
                f"WHERE touchpoint = ? AND t IS NOT NULL AND length(t) > 0 "
                f"ORDER BY timestamp DESC LIMIT {TEXT_SAMPLE}",
                [tp_id],
            ).fetchall()
        ]
        scores = sentiment_of(texts)
        result[tp_id] = (sum(scores) / len(scores) if scores else None, len(scores))
    return result
