"""Experiment statistics and the experiment model of journey splits (pure parts)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from partitur.analytics.experiments import (
    CONTINUE,
    GUARDRAIL,
    WINNER,
    Exposures,
    chance_to_beat,
    compare,
    decide_arrays,
    report,
    sample_ratio_mismatch,
    sequential_test,
    tally,
)
from partitur.core.errors import ValidationFailed
from partitur.journeys.contracts import SplitArm, SplitExperiment
from partitur.journeys.definition import AutoWinner, Goal, Guardrail

DAY = 86400.0
NOW = datetime(2025, 3, 1, tzinfo=UTC)


def test_p_value_and_interval_come_from_the_same_test() -> None:
    # every pair of counts: p < alpha exactly when the interval excludes 0
    rng = np.random.default_rng(7)
    n_c, n_v = rng.integers(50, 5000, 2000), rng.integers(50, 5000, 2000)
    c_c = rng.binomial(n_c, 0.1)
    c_v = rng.binomial(n_v, rng.uniform(0.07, 0.15, 2000))
    for comparisons in (1, 3):
        t = sequential_test(c_c, n_c, c_v, n_v, alpha=0.05, comparisons=comparisons)
        excludes_zero = (t.low > 0) | (t.high < 0)
        assert ((t.p_value < 0.05) == excludes_zero).all()
        assert (t.low <= t.difference).all() and (t.difference <= t.high).all()


def test_compare_reports_the_always_valid_test() -> None:
    r = compare(control=(100, 1000), variant=(130, 1000))
    assert (r.control.rate, r.variant.rate) == (0.1, 0.13)
    assert r.absolute_difference == pytest.approx(0.03)
    assert r.relative_lift == pytest.approx(0.3)
    # a fixed-horizon z-test would call this significant (p 0.036); an always-valid test needs
    # more evidence, and its interval agrees with its p-value
    assert r.p_value > 0.05 and not r.significant
    assert r.difference_ci_low < 0 < r.difference_ci_high
    assert "mSPRT" in r.method
    big = compare(control=(1000, 10000), variant=(1300, 10000))
    assert big.significant and big.p_value < 0.05 and big.difference_ci_low > 0


def test_the_interval_narrows_like_one_over_root_n() -> None:
    widths = [
        float(
            sequential_test(n // 10, n, n // 10, n).high
            - sequential_test(n // 10, n, n // 10, n).low
        )
        for n in (1000, 100_000)
    ]
    # 100x the sample: about 10x narrower (a little less: the always-valid boundary grows
    # with log n)
    assert 7 < widths[0] / widths[1] < 10


def test_chance_to_beat_control_matches_the_beta_closed_form() -> None:
    # control 0/1 -> Beta(1, 2), variant 1/1 -> Beta(2, 1):
    # P = integral of 2(1-c)(1-c^2) dc over [0,1] = 2 (1 - 1/2 - 1/3 + 1/4) = 5/6
    assert chance_to_beat((0, 1), (1, 1)) == pytest.approx(5 / 6, abs=1e-9)
    assert chance_to_beat((10, 20), (10, 20)) == pytest.approx(0.5, abs=1e-9)


def test_sample_ratio_is_checked_against_the_configured_weights() -> None:
    even = sample_ratio_mismatch([5000, 5100])
    assert even.chi_square == pytest.approx(2 * 50**2 / 5050)
    assert not even.mismatch
    assert sample_ratio_mismatch([5000, 5400]).mismatch
    # the demo's 10:45:45 split: sizes that fit their weights are no mismatch
    fitting = sample_ratio_mismatch([16, 74, 73], [10, 45, 45])
    assert fitting.p_value > 0.5 and not fitting.mismatch
    assert sample_ratio_mismatch([82, 81, 0], [10, 45, 45]).mismatch


def test_impossible_counts_name_the_group() -> None:
    with pytest.raises(ValidationFailed) as caught:
        compare(control=(11, 10), variant=(1, 10))
    assert caught.value.field == "control.conversions"
    with pytest.raises(ValidationFailed):
        compare(control=(1, 10), variant=(1, 0))


def test_the_rule_waits_for_the_minimum_sample_and_picks_the_surest_winner() -> None:
    closed = np.array([[5000, 5000, 5000], [50, 5000, 5000]])
    conversions = np.array([[500, 650, 600], [5, 650, 600]])
    outcome, arm = decide_arrays(conversions, closed, alpha=0.05, min_sample=100)
    assert outcome.tolist() == [WINNER, CONTINUE]
    assert arm[0] == 1


def test_a_variant_that_harms_a_guardrail_stops_the_experiment() -> None:
    closed = np.array([4000, 4000])
    conversions = np.array([400, 520])  # the variant converts better ...
    unsubscribes = np.array([[40], [160]])  # ... but unsubscribes 4 points more
    outcome, arm = decide_arrays(
        conversions,
        closed,
        alpha=0.05,
        min_sample=100,
        guard_events=unsubscribes,
        guard_bounds=[0.01],
    )
    assert (int(outcome), int(arm)) == (GUARDRAIL, 1)
    # within the bound it is no breach
    outcome, _ = decide_arrays(
        conversions,
        closed,
        alpha=0.05,
        min_sample=100,
        guard_events=unsubscribes,
        guard_bounds=[0.10],
    )
    assert int(outcome) == WINNER


def test_tally_at_many_moments_equals_tally_at_each() -> None:
    rng = np.random.default_rng(3)
    n = 500
    data = Exposures(
        arm=rng.integers(0, 3, n),
        exposed=rng.uniform(0, 20 * DAY, n),
        goal_delay=np.where(rng.random(n) < 0.3, rng.uniform(0, 10 * DAY, n), np.nan),
        guard_delay=np.where(rng.random((n, 1)) < 0.1, rng.uniform(0, 7 * DAY, (n, 1)), np.nan),
    )
    looks = np.arange(0, 30 * DAY, 0.5 * DAY)
    many = tally(data, arms=3, window=7 * DAY, now=looks)
    for i, moment in enumerate(looks):
        one = tally(data, arms=3, window=7 * DAY, now=moment)
        closed = data.exposed + 7 * DAY <= moment
        assert one.closed.tolist() == [int((closed & (data.arm == a)).sum()) for a in range(3)]
        assert one.conversions.tolist() == [
            int((closed & (data.arm == a) & (data.goal_delay <= 7 * DAY)).sum()) for a in range(3)
        ]
        assert (many.closed[i] == one.closed).all()
        assert (many.conversions[i] == one.conversions).all()
        assert (many.guard_events[i] == one.guard_events).all()


def _split(**settings: object) -> SplitExperiment:
    return SplitExperiment(
        journey_id="jrn_1",
        journey_key="winback",
        version=1,
        split_node="offer",
        arms=[SplitArm(key="control", weight=10), SplitArm(key="discount", weight=90)],
        control="control",
        goal=Goal(event="Order Completed"),
        settings=AutoWinner.model_validate({"min_sample": 50, **settings}),
        auto_winner=True,
        running=True,
    )


def _exposures(rates: tuple[float, float], n: int, days: float, seed: int) -> Exposures:
    rng = np.random.default_rng(seed)
    start = (NOW - timedelta(days=days)).timestamp()
    arm = (rng.random(n) >= 0.1).astype(np.int64)
    converts = rng.random(n) < np.asarray(rates)[arm]
    return Exposures(
        arm=arm,
        exposed=np.sort(rng.uniform(start, start + days * DAY, n)),
        goal_delay=np.where(converts, rng.uniform(0, 7 * DAY, n), np.nan),
        guard_delay=np.zeros((n, 0)),
    )


def test_a_held_out_control_converts_and_only_closed_windows_count() -> None:
    data = _exposures((0.10, 0.10), 4000, 40, seed=1)
    r = report(_split(), data, now=NOW)
    control, discount = r.arms
    assert control.control and control.arm == "control" and control.weight == pytest.approx(0.1)
    assert control.conversions > 0 and control.rate == pytest.approx(0.10, abs=0.04)
    # the last 7 days' profiles are exposed but not yet counted
    assert control.exposed + discount.exposed == 4000
    assert control.closed + discount.closed == pytest.approx(4000 * 33 / 40, rel=0.05)
    assert not r.srm.mismatch
    assert r.decision.status == "running"


def test_nothing_is_decided_before_the_minimum_runtime() -> None:
    data = _exposures((0.05, 0.30), 4000, 6, seed=2)
    young = report(_split(window="P1D", min_runtime="P7D"), data, now=NOW)
    assert young.decision.status == "collecting" and "P7D" in young.decision.reason
    assert young.comparisons[0].significant  # the figures show it, the rule waits
    old = report(_split(window="P1D", min_runtime="P3D"), data, now=NOW)
    assert old.decision.status == "winner" and old.decision.arm == "discount"


def test_a_split_off_its_weights_holds_its_decision() -> None:
    data = _exposures((0.05, 0.30), 4000, 20, seed=3)
    skewed = SplitExperiment.model_validate(
        {
            **_split(window="P1D").model_dump(),
            "arms": [
                {"key": "control", "weight": 50},
                {"key": "discount", "weight": 50},
            ],
        }
    )
    r = report(skewed, data, now=NOW)
    assert r.srm.mismatch and r.decision.status == "sample_ratio_mismatch"


def test_guardrails_show_in_the_report() -> None:
    data = _exposures((0.10, 0.10), 4000, 30, seed=4)
    rng = np.random.default_rng(5)
    hits = rng.random(4000) < np.where(data.arm == 1, 0.12, 0.02)
    data = Exposures(
        arm=data.arm,
        exposed=data.exposed,
        goal_delay=data.goal_delay,
        guard_delay=np.where(hits, 3600.0, np.nan)[:, None],
    )
    r = report(
        _split(guardrails=[Guardrail(event="Unsubscribed", max_increase=0.02)]), data, now=NOW
    )
    (check,) = r.comparisons[0].guardrails
    assert check.breached and check.ci_low is not None and check.ci_low > 0.02
    assert r.decision.status == "guardrail" and r.decision.arm == "control"
    assert math.isclose(r.arms[1].guardrail_rates[0] or 0, 0.12, abs_tol=0.02)
