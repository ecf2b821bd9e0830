"""Model features per profile as of a moment, computed in DuckDB from the event log.

Recency, frequency and monetary value of orders, engagement (all events) and its trend,
support tickets, the last NPS answer, the mean ticket sentiment and tenure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

FEATURES = [
    "recency_days",
    "orders_90d",
    "orders_total",
    "revenue_90d",
    "events_30d",
    "engagement_trend",
    "tickets_90d",
    "nps_last",
    "ticket_sentiment",
    "tenure_days",
]


@dataclass(frozen=True)
class FeatureSpec:
    order_event: str = "Order Completed"
    ticket_event: str = "Ticket Created"
    nps_event: str = "NPS Submitted"


_SQL = """
WITH e AS (
    SELECT profile_id, event, timestamp, revenue, score, sentiment
    FROM frame WHERE timestamp <= $as_of
), agg AS (
    SELECT profile_id,
        date_diff('second', max(timestamp) FILTER (WHERE event = $order_event), $as_of)
            / 86400.0 AS recency_days,
        count(*) FILTER (WHERE event = $order_event
                         AND timestamp > $as_of - INTERVAL 90 DAY) AS orders_90d,
        count(*) FILTER (WHERE event = $order_event) AS orders_total,
        coalesce(sum(revenue) FILTER (WHERE event = $order_event
                 AND timestamp > $as_of - INTERVAL 90 DAY), 0) AS revenue_90d,
        count(*) FILTER (WHERE timestamp > $as_of - INTERVAL 30 DAY) AS events_30d,
        count(*) FILTER (WHERE timestamp > $as_of - INTERVAL 90 DAY
                         AND timestamp <= $as_of - INTERVAL 30 DAY) AS events_31_90d,
        count(*) FILTER (WHERE event = $ticket_event
                         AND timestamp > $as_of - INTERVAL 90 DAY) AS tickets_90d,
        arg_max(score, timestamp) FILTER (WHERE event = $nps_event) AS nps_last,
        avg(sentiment) FILTER (WHERE event = $ticket_event) AS ticket_sentiment,
        date_diff('second', min(timestamp), $as_of) / 86400.0 AS tenure_days
    FROM e GROUP BY profile_id
)
SELECT profile_id,
    coalesce(recency_days, 9999.0)::DOUBLE AS recency_days,
    orders_90d::DOUBLE AS orders_90d,
    orders_total::DOUBLE AS orders_total,
    revenue_90d::DOUBLE AS revenue_90d,
    events_30d::DOUBLE AS events_30d,
    (events_30d / (events_31_90d / 2.0 + 1.0))::DOUBLE AS engagement_trend,
    tickets_90d::DOUBLE AS tickets_90d,
    coalesce(nps_last, -1)::DOUBLE AS nps_last,
    coalesce(ticket_sentiment, 0)::DOUBLE AS ticket_sentiment,
    tenure_days::DOUBLE AS tenure_days
FROM agg
ORDER BY profile_id
"""

_LABEL_SQL = """
SELECT DISTINCT profile_id FROM frame
WHERE event = $event AND timestamp > $start AND timestamp <= $end
"""


def build_features(frame: pd.DataFrame, *, as_of: datetime, spec: FeatureSpec) -> pd.DataFrame:
    """One row per profile with any event up to ``as_of``; columns ``profile_id`` + FEATURES.

    ``frame`` has columns profile_id, event, timestamp (UTC), revenue, score, sentiment."""
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        out: pd.DataFrame = con.execute(
            _SQL,
            {
                "as_of": as_of,
                "order_event": spec.order_event,
                "ticket_event": spec.ticket_event,
                "nps_event": spec.nps_event,
            },
        ).df()
    finally:
        con.close()
    return out


def active_in(frame: pd.DataFrame, *, event: str, start: datetime, end: datetime) -> set[str]:
    """Profiles with ``event`` in (start, end] (the churn label: absent = churned)."""
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        rows = con.execute(_LABEL_SQL, {"event": event, "start": start, "end": end}).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}
