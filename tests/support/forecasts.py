"""Simulated journeys for the success forecast (tests/unit/ml/test_journey_success.py and
bench/forecasts.py): older cohorts that converted at one rate and a new cohort that converts at
another, observed some days after it entered.

Converters reach the goal after a log-normal time (median 2 days, spread 0.8, at most 20 days);
the others leave the journey (exit or end of path) uniformly between half a day and 14 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from partitur.ml import journey_success as js

HOUR = 3600.0
DAY = 86400.0
START = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Journey:
    """Every instance: entry, goal and end (seconds since ``START``; NaN: none), cohort flag,
    and the new cohort's final conversion rate (what a forecast should predict)."""

    entered: np.ndarray
    goal: np.ndarray
    ended: np.ndarray
    new: np.ndarray
    final_rate: float


def journey(
    rng: np.random.Generator,
    *,
    new_rate: float = 0.30,
    old_rate: float = 0.20,
    new_n: int = 2000,
    old_n: int = 3000,
) -> Journey:
    """Older cohorts entering from 60 to 30 days before ``START``, the new one over its first
    day."""
    entered = np.concatenate(
        [rng.uniform(-60 * DAY, -30 * DAY, old_n), rng.uniform(0.0, DAY, new_n)]
    )
    new = np.concatenate([np.zeros(old_n, bool), np.ones(new_n, bool)])
    rate = np.where(new, new_rate, old_rate)
    converts = rng.random(len(entered)) < rate
    time_to_goal = np.minimum(rng.lognormal(np.log(2 * DAY), 0.8, len(entered)), 20 * DAY)
    leaves = rng.uniform(0.5 * DAY, 14 * DAY, len(entered))
    goal = np.where(converts, entered + time_to_goal, np.nan)
    ended = np.where(converts, goal, entered + leaves)
    return Journey(entered, goal, ended, new, float(converts[new].mean()))


def observed(j: Journey, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the store holds at ``now``: entry, goal and end times as of then (NaN: not yet)."""
    seen = j.entered <= now
    goal = np.where(j.goal <= now, j.goal, np.nan)
    ended = np.where(j.ended <= now, j.ended, np.nan)
    return j.entered[seen], goal[seen], ended[seen]


def frame(j: Journey, now: float, *, only_new: bool = False) -> pd.DataFrame:
    """The instances as the SQL of ``ml.journey_success`` reads them."""
    entered, goal, ended = observed(j, now)
    keep = j.new[j.entered <= now] if only_new else np.ones(len(entered), bool)

    def times(values: np.ndarray) -> list[datetime | None]:
        return [None if np.isnan(v) else START + timedelta(seconds=float(v)) for v in values]

    return pd.DataFrame(
        {
            "entered_at": times(entered[keep]),
            "goal_at": times(goal[keep]),
            "ended_at": times(ended[keep]),
        }
    )


def inputs(j: Journey, now: float) -> tuple[js.History, js.Cohort]:
    """The forecast's inputs at ``now`` for the new cohort, as numpy histograms (the same
    counts as the SQL; a test checks that)."""
    entered, goal, ended = observed(j, now)
    new = j.new[j.entered <= now]
    size = js.MAX_HORIZON_HOURS + 1
    age_end = np.where(np.isnan(ended), now, ended) - entered
    hours = np.minimum(np.floor(np.maximum(age_end, 0) / HOUR), js.MAX_HORIZON_HOURS).astype(int)
    durations_ended = np.bincount(hours[~np.isnan(ended)], minlength=size)
    durations_running = np.bincount(hours[np.isnan(ended)], minlength=size)
    horizon = js.horizon_hours(durations_ended, durations_running)
    old = entered <= now - horizon * HOUR
    converted = ~np.isnan(goal)
    bucket = np.where(converted, goal - entered, age_end) / HOUR
    bucket = np.minimum(np.floor(np.maximum(bucket, 0)), horizon).astype(int)
    history = js.History(
        horizon=horizon,
        goals=np.bincount(bucket[old & converted], minlength=horizon + 1).astype(float),
        non_converter_ends=np.bincount(bucket[old & ~converted], minlength=horizon + 1).astype(
            float
        ),
    )
    age = np.minimum(np.floor(np.maximum(now - entered, 0) / HOUR), horizon).astype(int)
    active = np.isnan(ended) & ~converted
    cohort = js.Cohort(
        entered=int(new.sum()),
        converted=int((new & converted).sum()),
        ended=int((new & ~converted & ~np.isnan(ended)).sum()),
        active_by_age=np.bincount(age[new & active], minlength=horizon + 1).astype(float),
    )
    return history, cohort
