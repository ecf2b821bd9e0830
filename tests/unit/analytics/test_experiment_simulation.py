"""The auto-winner's rule by seeded simulation (bench/experiments.py runs the full sizes):
A/A tests looked at on every pass, power at the sample size docs/analytics.md states, and an
arm that converts sooner but not more often."""

from __future__ import annotations

import pytest

from partitur.analytics.experiment_sim import Scenario, simulate

ALPHA = 0.05
#: docs/analytics.md: 10 % baseline, +20 % relative lift, two equal arms
STATED_PER_ARM = 7000


@pytest.mark.parametrize("arms", [2, 3, 4])
def test_an_a_a_test_watched_on_every_pass_rarely_declares_a_winner(arms: int) -> None:
    # 5 % conversion, 5,000 profiles per arm over four weeks, a look every hour
    found = simulate(
        Scenario(rates=[0.05] * arms, profiles=5000 * arms, look_hours=1.0), runs=300, seed=1900
    )
    rate = found.false_winner_share
    print(f"A/A {arms} arms: false winners {rate:.3f} of {found.runs} runs")
    assert rate <= ALPHA + 2 * found.standard_error(ALPHA)


def test_a_twenty_percent_lift_is_found_at_the_stated_sample_size() -> None:
    found = simulate(
        Scenario(rates=[0.10, 0.12], profiles=2 * STATED_PER_ARM, look_hours=1.0),
        runs=200,
        seed=1901,
    )
    power = found.winner_share(1)
    print(f"power at {STATED_PER_ARM} per arm: {power:.3f} of {found.runs} runs")
    assert power >= 0.80 - 2 * found.standard_error(0.80)
    assert found.winner_share(0) == 0


def test_converting_sooner_at_the_same_rate_is_no_win() -> None:
    # both arms convert 10 % within the 7-day window; the variant within a day, the control
    # spread over six days
    found = simulate(
        Scenario(
            rates=[0.10, 0.10],
            profiles=20_000,
            time_to_convert_days=[6.0, 1.0],
            look_hours=1.0,
        ),
        runs=300,
        seed=1902,
    )
    rate = found.winner_share(1)
    print(f"sooner converter declared winner in {rate:.3f} of {found.runs} runs")
    assert rate <= ALPHA + 2 * found.standard_error(ALPHA)


def test_a_harmful_variant_is_stopped_by_its_guardrail() -> None:
    # the variant converts better but doubles unsubscribes (2 % -> 4 %, bound +0.5 points)
    found = simulate(
        Scenario(
            rates=[0.10, 0.12],
            profiles=14_000,
            guard_rates=[0.02, 0.04],
            guard_bound=0.005,
        ),
        runs=100,
        seed=1903,
    )
    assert found.stopped.get(1, 0) / found.runs >= 0.8
    assert found.winner_share(1) <= 0.2
