"""The journey success forecast by seeded simulation: a new cohort converting at 30 % while the
older cohorts converted at 20 % (bench/forecasts.py runs 1,000 journeys per day)."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from partitur.ml import journey_success as js
from tests.support.forecasts import DAY, START, frame, inputs, journey

SEED = 4401
DAYS = (3, 5, 7, 10, 14)


def test_a_new_cohort_is_forecast_at_its_own_rate_from_day_three() -> None:
    rng = np.random.default_rng(SEED)
    errors = {d: [] for d in DAYS}
    covered = {d: 0 for d in DAYS}
    runs = 40
    for _ in range(runs):
        j = journey(rng)
        for d in DAYS:
            history, cohort = inputs(j, d * DAY)
            f = js.forecast(history, cohort)
            errors[d].append(f.conversion_rate - j.final_rate)
            covered[d] += f.conversion_rate_low <= j.final_rate <= f.conversion_rate_high
    for d in DAYS:
        worst = float(np.max(np.abs(errors[d])))
        print(f"day {d}: max |error| {worst:.3f}, coverage {covered[d] / runs:.2f}")
        assert worst <= 0.05
        assert covered[d] / runs >= 0.90 - 2 * np.sqrt(0.9 * 0.1 / runs)


def test_the_histograms_are_the_sql_counts() -> None:
    j = journey(np.random.default_rng(7), new_n=300, old_n=500)
    now = 4 * DAY
    history, cohort = inputs(j, now)
    con = duckdb.connect()
    con.register("every", frame(j, now))
    con.register("cohort", frame(j, now, only_new=True))
    at = {"now": (START + np.timedelta64(int(now), "s").item()).replace(tzinfo=None)}
    size = js.MAX_HORIZON_HOURS + 1
    durations = con.execute(
        js.DURATION_SQL.format(relation="every", where="true"),
        {**at, "cap": js.MAX_HORIZON_HOURS},
    ).fetchall()
    horizon = js.horizon_hours(js.histogram(durations, size, 1), js.histogram(durations, size, 2))
    assert horizon == history.horizon
    rows = con.execute(
        js.HISTORY_SQL.format(relation="every", where="true"), {**at, "horizon": horizon}
    ).fetchall()
    assert (js.histogram(rows, horizon + 1, 1) == history.goals).all()
    assert (js.histogram(rows, horizon + 1, 2) == history.non_converter_ends).all()
    rows = con.execute(
        js.COHORT_SQL.format(relation="cohort", where="true"), {**at, "horizon": horizon}
    ).fetchall()
    assert sum(r[1] for r in rows) == cohort.converted
    assert sum(r[2] for r in rows) == cohort.ended
    assert (js.histogram(rows, horizon + 1, 3) == cohort.active_by_age).all()


def test_the_horizon_is_half_again_the_age_when_almost_everyone_has_ended() -> None:
    ended = np.zeros(js.MAX_HORIZON_HOURS + 1)
    ended[:48] = 100  # everyone ends within two days
    assert js.horizon_hours(ended, np.zeros_like(ended)) == 72
    running = np.zeros_like(ended)
    running[-1] = 1000  # most still running after 30 days
    assert js.horizon_hours(ended, running) == js.MAX_HORIZON_HOURS


def test_without_older_cohorts_there_is_no_forecast() -> None:
    j = journey(np.random.default_rng(3), old_n=0)
    history, cohort = inputs(j, 3 * DAY)
    with pytest.raises(ValueError, match="conversions among instances older"):
        js.forecast(history, cohort)
