"""Journey split experiments by seeded simulation: the auto-winner's rule against the rule it
replaced, measured in the same run on the same simulated experiments.

    python bench/experiments.py           # 1,000 runs per figure, 20,000 profiles per arm
    python bench/experiments.py --smoke   # 100 runs, 5,000 per arm (CI, a few seconds)

Every run draws profiles reaching a split over four weeks and looks on every pass (hourly):

* the rule of ``analytics.experiments`` (mSPRT, closed 7-day windows, Bonferroni, 7-day
  minimum runtime, sample ratio check), through ``analytics.experiment_sim``;
* the baseline, the former auto-winner: once every arm has ``min_sample`` instances, the best
  arm by conversions so far (over every instance, windows open or not) against the first arm
  with a pooled two-proportion z-test at p < 0.05 on every pass.

Figures: A/A false-winner rates with 2, 3 and 4 arms, the share of runs in which an arm that
converts sooner (same final rate) wins, and the power for a +20 % relative lift by baseline rate
and sample size (the sizes docs/analytics.md states). Seeds are printed with the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report

from partitur.analytics.experiment_sim import DAY, Scenario, simulate

SEED = 20260601


def baseline_run(scenario: Scenario, rng: np.random.Generator, min_sample: int) -> int:
    """The former auto-winner on one simulated experiment: the winning arm, or -1."""
    arms = len(scenario.rates)
    n = scenario.profiles
    exposed = np.sort(rng.uniform(0.0, scenario.days * DAY, n))
    arm = rng.integers(0, arms, n)
    rates = np.asarray(scenario.rates, dtype=float)
    spread = np.asarray(scenario.time_to_convert_days or [scenario.window_days] * arms) * DAY
    converts = rng.random(n) < rates[arm]
    converted_at = np.where(converts, exposed + rng.uniform(0.0, 1.0, n) * spread[arm], np.inf)
    step = scenario.look_hours * 3600.0
    looks = np.arange(step, (scenario.days + scenario.window_days) * DAY + step, step)
    entered = np.stack(
        [np.searchsorted(exposed[arm == a], looks, side="right") for a in range(arms)], axis=-1
    )
    conversions = np.stack(
        [
            np.searchsorted(np.sort(converted_at[arm == a]), looks, side="right")
            for a in range(arms)
        ],
        axis=-1,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = conversions / entered
        best = np.nanargmax(np.where(entered > 0, rate, -1.0), axis=-1)
        c_n, c_c = entered[:, 0], conversions[:, 0]
        b_n = np.take_along_axis(entered, best[:, None], axis=-1)[:, 0]
        b_c = np.take_along_axis(conversions, best[:, None], axis=-1)[:, 0]
        pooled = (c_c + b_c) / (c_n + b_n)
        se = np.sqrt(pooled * (1 - pooled) * (1 / c_n + 1 / b_n))
        z = (b_c / b_n - c_c / c_n) / se
    p_value = 2 * stats.norm.sf(np.abs(z))
    ready = (entered >= min_sample).all(axis=-1)
    won = ready & (best != 0) & (p_value < 0.05) & (z > 0)
    hits = np.flatnonzero(won)
    return int(best[hits[0]]) if hits.size else -1


def baseline_share(scenario: Scenario, *, runs: int, seed: int, min_sample: int = 100) -> float:
    rngs = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(runs))
    return sum(baseline_run(scenario, rng, min_sample) > 0 for rng in rngs) / runs


def line(report: Report, name: str, new: float, old: float | None, runs: int, seed: int) -> None:
    """Record a share of runs (in %) with its simulation error and, where the former rule was
    run on the same experiments, the former rule's share as the baseline."""
    se = np.sqrt(max(new * (1 - new), 0.05 * 0.95) / runs)
    report.figure(
        name,
        new * 100,
        "%",
        baseline=None if old is None else old * 100,
        baseline_name="former rule",
        note=f"± {2 * se * 100:.1f} points, seed {seed}",
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (a few seconds)")
    args = parser.parse_args(argv)
    runs = 100 if args.smoke else 1000
    per_arm = 5000 if args.smoke else 20_000
    began = time.perf_counter()
    report = Report("experiments", smoke=args.smoke)
    print(
        f"partitur experiments bench ({'smoke' if args.smoke else 'full'}: {runs} runs per "
        f"figure, hourly looks, 4 weeks of entries, 7-day window; ± two simulation errors)"
    )
    print("\nA/A tests, 5 % conversion: share of runs declaring a (false) winner")
    for arms in (2, 3, 4):
        scenario = Scenario(rates=[0.05] * arms, profiles=per_arm * arms)
        seed = SEED + arms
        found = simulate(scenario, runs=runs, seed=seed)
        old = baseline_share(scenario, runs=runs, seed=seed)
        line(
            report,
            f"A/A false winners, {arms} arms, {per_arm:,} per arm",
            found.false_winner_share,
            old,
            runs,
            seed,
        )

    print("\nSame final rate (10 %), the variant converts within 1 day, the control within 6")
    sooner = Scenario(
        rates=[0.10, 0.10], profiles=2 * per_arm // 2, time_to_convert_days=[6.0, 1.0]
    )
    found = simulate(sooner, runs=runs, seed=SEED + 10)
    old = baseline_share(sooner, runs=runs, seed=SEED + 10)
    line(report, "sooner converter declared winner", found.winner_share(1), old, runs, SEED + 10)

    print("\nPower: +20 % relative lift, two arms (one variant), share of runs that find it")
    sizes = {
        0.05: (10_000, 15_000, 20_000),
        0.10: (5_000, 7_000, 9_000),
        0.20: (2_000, 3_000, 4_000),
    }
    if args.smoke:
        sizes = {0.10: (7_000,)}
    for baseline, counts in sizes.items():
        for count in counts:
            scenario = Scenario(rates=[baseline, baseline * 1.2], profiles=2 * count)
            seed = SEED + 100 + count
            found = simulate(scenario, runs=runs, seed=seed)
            old = baseline_share(scenario, runs=runs, seed=seed)
            days = np.median(found.decision_days) if found.decision_days else float("nan")
            line(
                report,
                f"power at +20 %, baseline {baseline:.0%}, {count:,} per arm "
                f"(median day {days:.0f})",
                found.winner_share(1),
                old,
                runs,
                seed,
            )
    if not args.smoke:
        print("\nPower with three arms (two variants, both +20 %) at 10 % baseline")
        for count in (7_000, 8_000, 9_000):
            scenario = Scenario(rates=[0.10, 0.12, 0.12], profiles=3 * count)
            seed = SEED + 200 + count
            found = simulate(scenario, runs=runs, seed=seed)
            line(
                report,
                f"power, three arms, {count:,} per arm",
                found.share("winner"),
                None,
                runs,
                seed,
            )
        print("\nGuardrail: the variant converts +20 % but unsubscribes 2 % -> 4 % (bound +0.5)")
        scenario = Scenario(
            rates=[0.10, 0.12], profiles=14_000, guard_rates=[0.02, 0.04], guard_bound=0.005
        )
        found = simulate(scenario, runs=runs, seed=SEED + 300)
        line(report, "guardrail: stopped by it", found.share("guardrail"), None, runs, SEED + 300)
        line(report, "guardrail: declared winner", found.share("winner"), None, runs, SEED + 300)
    print(f"\ntook {time.perf_counter() - began:.1f} s")
    report.finish()


if __name__ == "__main__":
    main()
