"""Journey success probability: the chance that an instance still active after ``age`` in the
journey reaches its goal, learnt from past instances (no I/O here).

Input: one row per past instance with ``entered_at``, ``goal_at`` (None if the goal was not
reached) and ``left_at`` (exit or end without goal; None while active), plus optional
grouping columns (e.g. ``tier``). Instances still active are censored: they count as "at
risk" up to their current age and never as failures, so the estimate is not biased by
instances that have not finished yet (a discrete-time competing-risks estimator computed in
DuckDB over age buckets).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

#: Per age bucket: instances whose goal, end or censoring falls in it, goals, failures, and
#: those still running (censored: their age is in the bucket). ``{relation}`` holds
#: ``entered_at``, ``goal_at``, ``left_at``; ``{where}`` filters it; parameters $now, $bucket
#: (hours) and $buckets.
BUCKET_SQL = """
WITH inst AS (
    SELECT
        date_diff('second', entered_at, coalesce(goal_at, left_at, $now)) / 3600.0 AS hours,
        goal_at IS NOT NULL AS reached,
        goal_at IS NULL AND left_at IS NOT NULL AS failed
    FROM {relation}
    WHERE ({where}) AND entered_at <= $now
), bucketed AS (
    SELECT least(floor(greatest(hours, 0) / $bucket)::INTEGER, $buckets - 1) AS bucket,
           reached, failed
    FROM inst
)
SELECT bucket,
       count(*) AS ended_or_censored,
       count(*) FILTER (WHERE reached) AS goals,
       count(*) FILTER (WHERE failed) AS failures,
       count(*) FILTER (WHERE NOT reached AND NOT failed) AS running
FROM bucketed GROUP BY bucket ORDER BY bucket
"""


@dataclass(frozen=True)
class SuccessCurve:
    """P(goal eventually | still active at the start of each age bucket)."""

    bucket_hours: float
    probability: list[float]
    at_risk: list[int]

    def at(self, age_hours: float) -> float:
        index = min(int(max(age_hours, 0.0) // self.bucket_hours), len(self.probability) - 1)
        return self.probability[index]


def fit_success_curve(
    instances: pd.DataFrame, *, now: datetime, bucket_hours: float = 24.0, buckets: int = 30
) -> SuccessCurve:
    """Estimate the curve. Raises ``ValueError`` without instances."""
    if instances.empty:
        raise ValueError("no journey instances to learn from")
    con = duckdb.connect()
    try:
        con.register("instances", instances)
        rows = con.execute(
            BUCKET_SQL.format(relation="instances", where="true"),
            {"now": now, "bucket": bucket_hours, "buckets": buckets},
        ).fetchall()
    finally:
        con.close()
    return curve_from_counts(rows, bucket_hours=bucket_hours, buckets=buckets)


def curve_from_counts(
    rows: Iterable[tuple[Any, ...]], *, bucket_hours: float, buckets: int
) -> SuccessCurve:
    """The curve from the rows of ``BUCKET_SQL`` (bucket, ended or censored, goals, failures,
    ...)."""
    counts = np.zeros((buckets, 3))
    for bucket, total, goals, failures, *_ in rows:
        counts[int(bucket)] = (total, goals, failures)
    # at risk at the start of bucket k = everyone whose event/censoring is in bucket >= k
    at_risk = counts[::-1, 0].cumsum()[::-1]
    hazard_goal = np.divide(counts[:, 1], at_risk, out=np.zeros(buckets), where=at_risk > 0)
    hazard_fail = np.divide(counts[:, 2], at_risk, out=np.zeros(buckets), where=at_risk > 0)
    # backwards: P_k = h_goal_k + (1 - h_goal_k - h_fail_k) * P_{k+1}; beyond the last bucket
    # the still-running instances are assumed to end like those that ended in it
    probability = np.zeros(buckets)
    last = counts[-1, 1] + counts[-1, 2]
    tail = counts[-1, 1] / last if last > 0 else 0.0
    following = tail
    for k in range(buckets - 1, -1, -1):  # buckets, not instances
        probability[k] = hazard_goal[k] + (1 - hazard_goal[k] - hazard_fail[k]) * following
        following = probability[k]
    return SuccessCurve(
        bucket_hours=bucket_hours,
        probability=[round(float(p), 4) for p in probability],
        at_risk=[int(n) for n in at_risk],
    )
