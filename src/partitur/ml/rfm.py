"""RFM summaries (frequency, recency, T, monetary value) from order events, in DuckDB."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import duckdb
import pandas as pd

Unit = Literal["days", "weeks"]
UNIT_DAYS: dict[str, float] = {"days": 1.0, "weeks": 7.0}

_SUMMARY = """
WITH periods AS (
    SELECT profile_id, date_trunc('day', timestamp) AS day, sum(coalesce(revenue, 0)) AS revenue
    FROM orders
    WHERE timestamp <= $until
    GROUP BY profile_id, day
), per_customer AS (
    SELECT profile_id,
           count(*) - 1 AS frequency,
           date_diff('day', min(day), max(day)) / $unit AS recency,
           date_diff('day', min(day), date_trunc('day', $until)) / $unit AS T,
           CASE WHEN count(*) > 1
                THEN (sum(revenue) - arg_min(revenue, day)) / (count(*) - 1)
                ELSE 0 END AS monetary_value,
           sum(revenue) AS revenue
    FROM periods GROUP BY profile_id
), holdout AS (
    SELECT profile_id, count(DISTINCT date_trunc('day', timestamp)) AS holdout_purchases,
           sum(coalesce(revenue, 0)) AS holdout_revenue
    FROM orders
    WHERE timestamp > $until AND timestamp <= $holdout_end
    GROUP BY profile_id
)
SELECT c.profile_id, c.frequency::DOUBLE AS frequency, c.recency::DOUBLE AS recency,
       c.T::DOUBLE AS T, c.monetary_value::DOUBLE AS monetary_value, c.revenue::DOUBLE AS revenue,
       coalesce(h.holdout_purchases, 0)::DOUBLE AS holdout_purchases,
       coalesce(h.holdout_revenue, 0)::DOUBLE AS holdout_revenue
FROM per_customer c LEFT JOIN holdout h USING (profile_id)
ORDER BY c.profile_id
"""


def rfm_summary(
    orders: pd.DataFrame, *, until: datetime, unit: Unit, holdout_end: datetime | None = None
) -> pd.DataFrame:
    """One row per customer with a purchase up to ``until``: ``frequency`` (repeat purchase
    days), ``recency`` and ``T`` (in ``unit``, whole days as in lifetimes),
    ``monetary_value`` (mean revenue of the repeat purchase days), ``revenue`` and the
    purchases/revenue in the holdout period (``until``, ``holdout_end``]."""
    if unit not in UNIT_DAYS:
        raise ValueError(f"unit must be days or weeks, not {unit!r}")
    con = duckdb.connect()
    try:
        con.register("orders", orders)
        result: pd.DataFrame = con.execute(
            _SUMMARY,
            {
                "until": until,
                "holdout_end": holdout_end or until,
                "unit": UNIT_DAYS[unit],
            },
        ).df()
    finally:
        con.close()
    return result
