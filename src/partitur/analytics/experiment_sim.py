"""Seeded simulations of a journey split experiment run through the auto-winner's own rule.

Each run draws profiles reaching the split over ``days`` (uniform arrival), assigns them to the
arms by weight, lets each convert with its arm's rate after a delay spread uniformly over
``time_to_convert_days`` (and hit a guardrail event likewise), and then *looks on every pass*:
every ``look_hours`` it tallies the arms exactly as the journey page does
(:func:`experiments.tally`: only closed windows count) and applies the decision rule
(:func:`experiments.decide_arrays`, after the minimum runtime and the sample ratio check) until
something is decided. What comes out are the shares of runs that ended in each decision, which
is how the false-winner rate, the power and the sample sizes in docs/analytics.md are measured
(tests/unit/analytics/test_experiment_simulation.py, bench/experiments.py).

Pure and seeded: numpy only, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from partitur.analytics.experiments import (
    CONTINUE,
    CONTROL_BETTER,
    GUARDRAIL,
    SRM_ALPHA,
    WINNER,
    Exposures,
    decide_arrays,
    tally,
)

DAY = 86400.0


@dataclass(frozen=True)
class Scenario:
    """One experiment design and the truth it runs against (arm 0 is the control)."""

    #: eventual conversion rate of each arm within the window
    rates: Sequence[float]
    #: configured weights (default: equal)
    weights: Sequence[float] | None = None
    #: profiles reaching the split during the experiment (all arms)
    profiles: int = 10_000
    #: days over which they arrive; the experiment ends when the last window has closed
    days: float = 28.0
    window_days: float = 7.0
    #: per arm, conversions happen uniformly within this many days of exposure (default: the
    #: window; more than the window means some conversions fall outside it)
    time_to_convert_days: Sequence[float] | None = None
    #: a look on every pass of the auto-winner
    look_hours: float = 1.0
    alpha: float = 0.05
    min_sample: int = 100
    min_runtime_days: float = 7.0
    #: per arm, the rate of one guardrail event within the window (empty: no guardrail)
    guard_rates: Sequence[float] = ()
    guard_bound: float = 0.0


@dataclass
class SimulationResult:
    runs: int
    #: runs that ended in each decision: "continue" (nothing decided by the end), "winner",
    #: "control_better", "guardrail"
    outcomes: dict[str, int] = field(default_factory=dict)
    #: runs won by each arm (index), for winners
    winners: dict[int, int] = field(default_factory=dict)
    #: runs stopped by the guardrail, per breaching arm
    stopped: dict[int, int] = field(default_factory=dict)
    #: days from the first exposure to each decision
    decision_days: list[float] = field(default_factory=list)

    def share(self, outcome: str) -> float:
        return self.outcomes.get(outcome, 0) / self.runs if self.runs else 0.0

    @property
    def false_winner_share(self) -> float:
        """Share of runs that declared any winner (in an A/A test every winner is false)."""
        return self.share("winner")

    def winner_share(self, arm: int) -> float:
        return self.winners.get(arm, 0) / self.runs if self.runs else 0.0

    def standard_error(self, share: float) -> float:
        """The simulation error (binomial standard error) of a share over these runs."""
        return float(np.sqrt(max(share * (1 - share), 1e-12) / self.runs))


_NAMES = {CONTINUE: "continue", WINNER: "winner", CONTROL_BETTER: "control_better"}
_NAMES[GUARDRAIL] = "guardrail"


def one_run(scenario: Scenario, rng: np.random.Generator) -> tuple[int, int, float]:
    """One experiment: ``(outcome, arm, day decided)`` (``CONTINUE, -1, nan`` if nothing was
    decided by the time the last window closed)."""
    arms = len(scenario.rates)
    weights = np.asarray(scenario.weights or [1.0] * arms, dtype=float)
    shares = weights / weights.sum()
    n = scenario.profiles
    window = scenario.window_days * DAY
    exposed = np.sort(rng.uniform(0.0, scenario.days * DAY, n))
    arm = rng.choice(arms, size=n, p=shares)
    rates = np.asarray(scenario.rates, dtype=float)
    spread = np.asarray(scenario.time_to_convert_days or [scenario.window_days] * arms) * DAY
    converts = rng.random(n) < rates[arm]
    goal_delay = np.where(converts, rng.uniform(0.0, 1.0, n) * spread[arm], np.nan)
    if scenario.guard_rates:
        hits = rng.random(n) < np.asarray(scenario.guard_rates, dtype=float)[arm]
        guard_delay = np.where(hits, rng.uniform(0.0, window, n), np.nan)[:, None]
        bounds: list[float] = [scenario.guard_bound]
    else:
        guard_delay = np.zeros((n, 0))
        bounds = []
    data = Exposures(arm=arm, exposed=exposed, goal_delay=goal_delay, guard_delay=guard_delay)
    start = float(exposed[0]) if n else 0.0
    end = scenario.days * DAY + window
    step = scenario.look_hours * 3600.0
    looks = np.arange(start + scenario.min_runtime_days * DAY, end + step, step)
    counts = tally(data, arms=arms, window=window, now=looks)
    outcome, chosen = decide_arrays(
        counts.conversions,
        counts.closed,
        alpha=scenario.alpha,
        min_sample=scenario.min_sample,
        guard_events=counts.guard_events if bounds else None,
        guard_bounds=bounds,
    )
    # the auto-winner holds decisions while the arms' sizes do not fit their weights
    exposed_counts = counts.exposed.astype(float)
    expected = exposed_counts.sum(axis=-1, keepdims=True) * shares
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.nansum((exposed_counts - expected) ** 2 / expected, axis=-1)
    mismatch = stats.chi2.sf(chi2, arms - 1) < SRM_ALPHA
    decided = np.flatnonzero((outcome != CONTINUE) & ~mismatch)
    if not decided.size:
        return CONTINUE, -1, float("nan")
    first = int(decided[0])
    return int(outcome[first]), int(chosen[first]), float((looks[first] - start) / DAY)


def simulate(scenario: Scenario, *, runs: int, seed: int) -> SimulationResult:
    """Run the scenario ``runs`` times from ``seed`` (reproducible run by run)."""
    result = SimulationResult(runs=runs)
    for generator in (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(runs)):
        code, arm, day = one_run(scenario, generator)
        name = _NAMES[code]
        result.outcomes[name] = result.outcomes.get(name, 0) + 1
        if code == WINNER:
            result.winners[arm] = result.winners.get(arm, 0) + 1
        if code == GUARDRAIL:
            result.stopped[arm] = result.stopped.get(arm, 0) + 1
        if code != CONTINUE:
            result.decision_days.append(day)
    return result


def power_table(
    baselines: Sequence[float],
    *,
    lift: float,
    arms: int = 2,
    profiles_per_arm: Sequence[int],
    runs: int,
    seed: int,
    days: float = 28.0,
) -> list[tuple[float, int, float]]:
    """``(baseline, profiles per arm, share of runs that found the lifted variants)`` for each
    baseline and size: every variant converts ``baseline x (1 + lift)``."""
    rows = []
    for baseline in baselines:
        for per_arm in profiles_per_arm:
            scenario = Scenario(
                rates=[baseline] + [baseline * (1 + lift)] * (arms - 1),
                profiles=per_arm * arms,
                days=days,
            )
            found = simulate(scenario, runs=runs, seed=seed)
            rows.append((baseline, per_arm, found.share("winner")))
    return rows
