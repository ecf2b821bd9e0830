"""Behavioural features per profile as of a moment, computed in DuckDB from the event log.

Every feature looks back a fixed ``lookback`` before the snapshot (never at "all history"),
so a snapshot taken months ago and one taken today describe customers on the same scale, and
drift between training and scoring is real change, not a longer history. The frame
(``event_frame`` in the ml service) has one row per event: profile_id, known (the profile has a
user id), event, timestamp (UTC), revenue (in the reporting currency), score (survey answer),
rating (review stars), late (1 for a late delivery), sentiment (of the text the customer wrote).

Customer *activity* is every event a customer makes (visits, views, carts, orders, opens,
clicks, tickets, surveys, reviews); events the business sends or logs about the customer
(``NOT_ACTIVITY``: e-mails sent, shipping, ticket resolution, outages, consent records) are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pandas as pd

FEATURES = [
    "days_since_activity",
    "days_since_order",
    "active_days",
    "activity_7d",
    "activity_30d",
    "activity_trend",
    "orders",
    "revenue",
    "email_opens",
    "emails_received",
    "tickets",
    "text_sentiment",
    "negative_texts",
    "nps_last",
    "csat_mean",
    "rating_mean",
    "refunds",
    "late_deliveries",
]

#: Events the business sends or records about a customer: not customer activity.
NOT_ACTIVITY = (
    "Email Sent",
    "Email Delivered",
    "Email Bounced",
    "SMS Sent",
    "SMS Delivered",
    "Push Sent",
    "Order Shipped",
    "Order Delivered",
    "Ticket Resolved",
    "Outage Detected",
    "Outage Resolved",
    "Consent Updated",
    "Data Quality Alert",
)


@dataclass(frozen=True)
class EventRoles:
    """Which event names play which part in the features (Segment e-commerce names)."""

    order: str = "Order Completed"
    ticket: str = "Ticket Created"
    nps: str = "NPS Submitted"
    csat: str = "CSAT Submitted"
    review: str = "Product Reviewed"
    refund: str = "Order Refunded"
    delivered: str = "Order Delivered"
    email_sent: str = "Email Sent"
    email_opens: tuple[str, ...] = ("Email Opened", "Email Link Clicked")


def activity_sql(activity_events: list[str] | None) -> str:
    """SQL condition over ``event`` for customer activity."""
    if activity_events:
        names = ", ".join("'" + e.replace("'", "''") + "'" for e in activity_events)
        return f"event IN ({names})"
    names = ", ".join("'" + e.replace("'", "''") + "'" for e in NOT_ACTIVITY)
    return f"(event NOT IN ({names}) AND event NOT LIKE 'message.%' AND event NOT LIKE 'journey.%')"


_SQL = """
WITH e AS (
    SELECT profile_id, event, timestamp, revenue, score, rating, late, sentiment,
           {activity} AS active
    FROM frame WHERE timestamp <= $as_of AND timestamp > $since
), agg AS (
    SELECT profile_id,
        date_diff('second', max(timestamp) FILTER (WHERE active), $as_of) / 86400.0
            AS days_since_activity,
        date_diff('second', max(timestamp) FILTER (WHERE event = $order), $as_of) / 86400.0
            AS days_since_order,
        count(DISTINCT CAST(timestamp AS DATE)) FILTER (WHERE active) AS active_days,
        count(*) FILTER (WHERE active AND timestamp > $as_of - INTERVAL 7 DAY) AS activity_7d,
        count(*) FILTER (WHERE active AND timestamp > $as_of - INTERVAL 30 DAY) AS activity_30d,
        count(*) FILTER (WHERE active AND timestamp > $half) AS recent_half,
        count(*) FILTER (WHERE active AND timestamp <= $half) AS early_half,
        count(*) FILTER (WHERE event = $order) AS orders,
        coalesce(sum(revenue) FILTER (WHERE event = $order), 0) AS revenue,
        count(*) FILTER (WHERE list_contains($opens, event)) AS email_opens,
        count(*) FILTER (WHERE event = $email_sent) AS emails_received,
        count(*) FILTER (WHERE event = $ticket) AS tickets,
        avg(sentiment) AS text_sentiment,
        count(*) FILTER (WHERE sentiment <= -0.15) AS negative_texts,
        arg_max(score, timestamp) FILTER (WHERE event = $nps AND score IS NOT NULL) AS nps_last,
        avg(score) FILTER (WHERE event = $csat) AS csat_mean,
        avg(rating) FILTER (WHERE event = $review) AS rating_mean,
        count(*) FILTER (WHERE event = $refund) AS refunds,
        count(*) FILTER (WHERE event = $delivered AND late > 0) AS late_deliveries
    FROM e GROUP BY profile_id
), first_seen AS (
    SELECT profile_id, bool_or(known) AS known,
           count(*) FILTER (WHERE event = $order) AS orders_ever
    FROM frame WHERE timestamp <= $as_of GROUP BY profile_id
)
SELECT a.profile_id, f.known, f.orders_ever,
    least(coalesce(days_since_activity, $lookback), $lookback)::DOUBLE AS days_since_activity,
    least(coalesce(days_since_order, $lookback), $lookback)::DOUBLE AS days_since_order,
    active_days::DOUBLE AS active_days,
    activity_7d::DOUBLE AS activity_7d,
    activity_30d::DOUBLE AS activity_30d,
    (recent_half / (early_half + 1.0))::DOUBLE AS activity_trend,
    orders::DOUBLE AS orders,
    revenue::DOUBLE AS revenue,
    email_opens::DOUBLE AS email_opens,
    emails_received::DOUBLE AS emails_received,
    tickets::DOUBLE AS tickets,
    text_sentiment::DOUBLE AS text_sentiment,
    negative_texts::DOUBLE AS negative_texts,
    nps_last::DOUBLE AS nps_last,
    csat_mean::DOUBLE AS csat_mean,
    rating_mean::DOUBLE AS rating_mean,
    refunds::DOUBLE AS refunds,
    late_deliveries::DOUBLE AS late_deliveries
FROM agg a JOIN first_seen f USING (profile_id)
ORDER BY a.profile_id
"""


def build_features(
    frame: pd.DataFrame,
    *,
    as_of: datetime,
    lookback: timedelta,
    roles: EventRoles | None = None,
    activity_events: list[str] | None = None,
) -> pd.DataFrame:
    """One row per profile with any event in (as_of - lookback, as_of]: ``profile_id``,
    ``known``, ``orders_ever`` (for the population rule) and ``FEATURES``. Missing survey
    answers and sentiment stay NaN (no answer is not a zero)."""
    roles = roles or EventRoles()
    days = lookback / timedelta(days=1)
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        out: pd.DataFrame = con.execute(
            _SQL.format(activity=activity_sql(activity_events)),
            {
                "as_of": as_of,
                "since": as_of - lookback,
                "half": as_of - lookback / 2,
                "lookback": days,
                "order": roles.order,
                "ticket": roles.ticket,
                "nps": roles.nps,
                "csat": roles.csat,
                "review": roles.review,
                "refund": roles.refund,
                "delivered": roles.delivered,
                "email_sent": roles.email_sent,
                "opens": list(roles.email_opens),
            },
        ).df()
    finally:
        con.close()
    return out


def active_in(
    frame: pd.DataFrame,
    *,
    start: datetime,
    end: datetime,
    event: str | None = None,
    activity_events: list[str] | None = None,
) -> set[str]:
    """Profiles with ``event`` (or, without one, any customer activity) in (start, end]."""
    condition = "event = $event" if event is not None else activity_sql(activity_events)
    params: dict[str, object] = {"start": start, "end": end}
    if event is not None:
        params["event"] = event
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        rows = con.execute(
            f"SELECT DISTINCT profile_id FROM frame WHERE {condition} "
            "AND timestamp > $start AND timestamp <= $end",
            params,
        ).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}
