"""Journey success probability from past instances, with still-running ones censored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from partitur.ml.journey_success import fit_success_curve

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _instances(n: int, p_goal: float, seed: int = 0) -> pd.DataFrame:
    """Each instance reaches the goal with p_goal after 0-5 days, else leaves after 0-10 days."""
    rng = np.random.default_rng(seed)
    entered = [NOW - timedelta(days=float(d)) for d in rng.uniform(0, 60, n)]
    goal, left = [], []
    for start in entered:
        if rng.random() < p_goal:
            at = start + timedelta(days=float(rng.uniform(0, 5)))
            goal.append(at if at <= NOW else None)
            left.append(None)
        else:
            at = start + timedelta(days=float(rng.uniform(0, 10)))
            goal.append(None)
            left.append(at if at <= NOW else None)
    return pd.DataFrame({"entered_at": entered, "goal_at": goal, "left_at": left})


def test_the_chance_at_entry_matches_the_true_goal_rate_despite_censoring() -> None:
    curve = fit_success_curve(_instances(6000, 0.3), now=NOW, bucket_hours=24, buckets=15)
    assert curve.at(0) == pytest.approx(0.3, abs=0.03)
    # goals come within 5 days; later on, only the slow leavers are still active
    assert curve.at(24 * 7) < 0.05 < curve.at(24 * 2)
    assert curve.at_risk[0] == 6000


def test_no_instances_is_an_error() -> None:
    with pytest.raises(ValueError):
        fit_success_curve(pd.DataFrame({"entered_at": [], "goal_at": [], "left_at": []}), now=NOW)
