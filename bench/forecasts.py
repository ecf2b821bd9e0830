"""Journey success forecasts by seeded simulation: the cure-rate model of
``ml.journey_success`` against the estimator it replaced, on the same simulated journeys.

    python bench/forecasts.py           # 1,000 journeys
    python bench/forecasts.py --smoke   # 50 journeys (CI, a few seconds)

Each journey (tests/support/forecasts.py): older cohorts (3,000 instances, entered 30-60 days
earlier) converted at 20 %; a new cohort of 2,000 entering over one day converts at 30 %
(log-normal time to goal, median 2 days; the others leave within 14 days). On each day after the
new cohort entered, both estimators forecast its final conversion rate:

* the model: older cohorts' time to goal and exit times, the new cohort's own rate (maximum
  likelihood) with a 95 % interval;
* the baseline, the former estimator: the chance to reach the goal by age (24-hour buckets,
  competing risks) learnt from the forecast instances themselves, assuming the instances older
  than any seen end like those of the oldest age.

Printed per day: mean and largest absolute error against the cohort's actual final rate, and
how often the interval covers it (the baseline has none).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Report
from tests.support.forecasts import DAY, inputs, journey, observed

from partitur.ml import journey_success as js

SEED = 20260701
DAYS = (1, 2, 3, 5, 7, 10, 14)


def former_forecast(entered: np.ndarray, goal: np.ndarray, ended: np.ndarray, now: float) -> float:
    """The former estimator on one cohort: (converted + expected) / entered."""
    buckets = 30
    converted = ~np.isnan(goal)
    failed = ~converted & ~np.isnan(ended)
    until = np.where(converted, goal, np.where(failed, ended, now))
    index = np.minimum(np.floor(np.maximum(until - entered, 0) / DAY), buckets - 1).astype(int)
    total = np.bincount(index, minlength=buckets).astype(float)
    goals = np.bincount(index[converted], minlength=buckets).astype(float)
    fails = np.bincount(index[failed], minlength=buckets).astype(float)
    at_risk = total[::-1].cumsum()[::-1]
    h_goal = np.divide(goals, at_risk, out=np.zeros(buckets), where=at_risk > 0)
    h_fail = np.divide(fails, at_risk, out=np.zeros(buckets), where=at_risk > 0)
    last = goals[-1] + fails[-1]
    following = goals[-1] / last if last > 0 else 0.0
    probability = np.zeros(buckets)
    for k in range(buckets - 1, -1, -1):  # 30 buckets
        probability[k] = h_goal[k] + (1 - h_goal[k] - h_fail[k]) * following
        following = probability[k]
    running = ~converted & ~failed
    expected = probability[index[running]].sum()
    return float((converted.sum() + expected) / len(entered))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="50 journeys (a few seconds)")
    args = parser.parse_args(argv)
    runs = 50 if args.smoke else 1000
    began = time.perf_counter()
    rng = np.random.default_rng(SEED)
    errors: dict[int, list[float]] = {d: [] for d in DAYS}
    former: dict[int, list[float]] = {d: [] for d in DAYS}
    covered = dict.fromkeys(DAYS, 0)
    widths: dict[int, list[float]] = {d: [] for d in DAYS}
    forecast_seconds = 0.0
    for _ in range(runs):
        j = journey(rng)
        for d in DAYS:
            now = d * DAY
            history, cohort = inputs(j, now)
            start = time.perf_counter()
            found = js.forecast(history, cohort)
            forecast_seconds += time.perf_counter() - start
            errors[d].append(found.conversion_rate - j.final_rate)
            covered[d] += found.conversion_rate_low <= j.final_rate <= found.conversion_rate_high
            widths[d].append(found.conversion_rate_high - found.conversion_rate_low)
            entered, goal, ended = observed(j, now)
            new = j.new[j.entered <= now]
            former[d].append(
                former_forecast(entered[new], goal[new], ended[new], now) - j.final_rate
            )
    print(
        f"partitur forecast bench ({runs} journeys, seed {SEED}): new cohort 2,000 at 30 %, "
        "older cohorts 3,000 at 20 %"
    )
    print(
        f"{'day':>4} {'mean |err|':>11} {'max |err|':>10} {'coverage':>9} {'width':>7}"
        "   former: mean error, max |err|"
    )
    for d in DAYS:
        e = np.asarray(errors[d])
        f = np.asarray(former[d])
        print(
            f"{d:>4} {np.abs(e).mean():>11.4f} {np.abs(e).max():>10.4f} {covered[d] / runs:>9.3f} "
            f"{np.mean(widths[d]):>7.4f}   {f.mean():+.4f}, {np.abs(f).max():.4f}"
        )
    per = forecast_seconds / (runs * len(DAYS)) * 1000
    print(f"\ntook {time.perf_counter() - began:.1f} s")
    report = Report("forecasts", smoke=args.smoke)
    for d in DAYS:
        report.figure(
            f"day {d}: mean absolute error of the forecast conversion rate",
            float(np.abs(np.asarray(errors[d])).mean()) * 100,
            "points",
            baseline=float(np.abs(np.asarray(former[d])).mean()) * 100,
            baseline_name="former estimator",
            note=f"95 % interval covers the final rate in {covered[d] / runs:.1%} of journeys",
        )
    report.figure("one forecast", per, "ms")
    report.finish()


if __name__ == "__main__":
    main()
