"""Journey success forecast: how many of a journey's instances will reach its goal, with an
interval, learnt from the time-to-goal of older cohorts (a mixture cure-rate model; no I/O).

Model. Every instance is, with probability ``pi``, one that reaches the goal (a *converter*)
and then does so at an age drawn from ``F``; the others (*non-converters*) leave the journey at
an age drawn from ``S_N`` (their chance to be still active at an age) — an ended instance can
no longer convert. ``F`` and ``S_N`` are the empirical distributions of **older cohorts**:
instances that entered at least a *horizon* ``H`` ago, whose outcome is known (``H``: 1.5 times
the age by which 99 % of the journey's instances have ended, Kaplan-Meier over ended and running
ones, at most 30 days; conversions later than ``H`` are lumped at it). ``pi`` is estimated by
maximum likelihood from the instances being forecast:

* converted: ``pi`` (times ``f``, which does not involve ``pi``);
* ended without the goal: ``1 - pi`` (times the non-converters' end density);
* still active at age ``a``: ``pi (1 - F(a)) + (1 - pi) S_N(a)``.

So a cohort that converts better or worse than the older ones is forecast at its own rate, from
its first days on. An active instance at age ``a`` reaches the goal with
``p(a) = pi (1 - F(a)) / (pi (1 - F(a)) + (1 - pi) S_N(a))``; the forecast conversion rate is
``(converted + sum of p) / entered``. Its interval (normal, 95 %) adds up the cohort's own
sampling error (observed information of ``pi``), the older cohorts' (their histograms redrawn
100 times, multinomially, from a fixed seed) and the binomial spread of the outcomes still to
come. The forecast needs at least ``MIN_HISTORY`` conversions among the older cohorts.

Ages are counted in whole hours; all inputs are per-hour histograms (computed in SQL by the
caller), so the cost does not grow with the number of instances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

#: The longest horizon (hours): conversions later than this after entry are not forecast.
MAX_HORIZON_HOURS = 30 * 24
#: Older-cohort conversions needed before a forecast is made.
MIN_HISTORY = 20
#: The share of instances still running at the horizon.
HORIZON_SURVIVAL = 0.01
#: The horizon is this many times the age by which all but ``HORIZON_SURVIVAL`` have ended: the
#: margin keeps the few conversions later than the horizon (lumped at it) few.
HORIZON_MARGIN = 1.5

_EPS = 1e-12


def horizon_hours(ended: np.ndarray, running: np.ndarray) -> int:
    """The forecast horizon (hours, at most ``MAX_HORIZON_HOURS``): 1.5 times the age by which
    99 % of instances have ended, Kaplan-Meier over ``ended[k]`` instances that ended in their
    ``k``-th hour and ``running[k]`` still running at an age in that hour (censored). Arrays of
    ``MAX_HORIZON_HOURS + 1``; the last bucket holds everything older."""
    ended = np.asarray(ended, dtype=float)
    running = np.asarray(running, dtype=float)
    at_risk = (ended + running)[::-1].cumsum()[::-1]
    hazard = np.divide(ended, at_risk, out=np.zeros_like(ended), where=at_risk > 0)
    survival = np.cumprod(1 - hazard)
    below = np.flatnonzero(survival[:-1] <= HORIZON_SURVIVAL)
    if not below.size:
        return MAX_HORIZON_HOURS
    return min(MAX_HORIZON_HOURS, int(np.ceil((int(below[0]) + 1) * HORIZON_MARGIN)))


@dataclass(frozen=True)
class History:
    """Older cohorts' outcomes per age hour ``0 .. horizon``: conversions by the hour of their
    goal, non-converters by the hour they ended (the last bucket: conversions at or after the
    horizon, non-converters still running at it)."""

    horizon: int
    goals: np.ndarray
    non_converter_ends: np.ndarray

    @property
    def conversions(self) -> int:
        return int(self.goals.sum())

    def curves(self) -> tuple[np.ndarray, np.ndarray]:
        """``F`` and ``S_N`` at the middle of each age hour ``0 .. horizon``."""
        f, s_n = curves(
            np.asarray(self.goals, float)[None], np.asarray(self.non_converter_ends, float)[None]
        )
        return f[0], s_n[0]


def curves(goals: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``F`` and ``S_N`` at the middle of each age hour for rows of histograms ``[rows, hours]``
    of goals and non-converter ends (see :class:`History`)."""
    f_edges = np.concatenate([np.zeros((len(goals), 1)), goals.cumsum(axis=1)], axis=1)
    f_edges /= np.maximum(goals.sum(axis=1, keepdims=True), _EPS)
    f = (f_edges[:, :-1] + f_edges[:, 1:]) / 2
    # the last bucket holds the conversions at or after the horizon; an instance there is taken
    # to be at the horizon (most are just past it): all of them are still to come
    f[:, -1] = f_edges[:, -2]
    ended = np.concatenate([np.zeros((len(ends), 1)), ends[:, :-1].cumsum(axis=1)], axis=1)
    ended /= np.maximum(ends.sum(axis=1, keepdims=True), _EPS)
    middle = (ended[:, :-1] + ended[:, 1:]) / 2
    # the last bucket holds those still running at the horizon
    return f, 1.0 - np.concatenate([middle, ended[:, -1:]], axis=1)


@dataclass(frozen=True)
class Cohort:
    """The instances forecast: how many entered, converted and ended without the goal, and the
    active ones per age hour ``0 .. horizon`` (the last bucket: at or beyond it)."""

    entered: int
    converted: int
    ended: int
    active_by_age: np.ndarray


@dataclass(frozen=True)
class Forecast:
    #: the cohort's estimated share of converters, with its interval
    rate: float
    rate_low: float
    rate_high: float
    #: conversions still expected from the active instances, their mean chance
    expected_conversions: float
    success_probability: float | None
    #: (converted + expected) / entered, with its interval
    conversion_rate: float
    conversion_rate_low: float
    conversion_rate_high: float
    horizon_hours: int
    history_conversions: int


def _converter_share(
    converted: int, ended: int, active: np.ndarray, pending: np.ndarray, still: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The maximum-likelihood ``pi`` for each row of ``pending`` (= 1 - F) and ``still``
    (= S_N), and the observed information there. The log-likelihood is concave in ``pi`` (a sum
    of logs of linear functions), so Newton's method from the converted share converges."""
    slope = pending - still
    total = converted + ended + float(active.sum())
    pi = np.full(pending.shape[0], min(max((converted + 0.5) / (total + 1), 1e-6), 1 - 1e-6))
    info = np.ones_like(pi)
    for _ in range(100):
        mix = np.maximum(pi[:, None] * slope + still, _EPS)
        score = converted / pi - ended / (1 - pi) + (active * slope / mix).sum(axis=1)
        info = converted / pi**2 + ended / (1 - pi) ** 2 + (active * (slope / mix) ** 2).sum(axis=1)
        step = score / np.maximum(info, _EPS)
        # stay inside (0, 1): at most halfway to an edge per step
        step = np.clip(step, -pi / 2, (1 - pi) / 2)
        pi = pi + step
        if np.abs(step).max() < 1e-10:
            break
    return pi, info


def _chances(pi: np.ndarray, pending: np.ndarray, still: np.ndarray) -> np.ndarray:
    converter = pi[:, None] * pending
    both = converter + (1 - pi[:, None]) * still
    out: np.ndarray = np.divide(converter, both, out=np.zeros_like(converter), where=both > 0)
    return out


def forecast(
    history: History,
    cohort: Cohort,
    *,
    confidence: float = 0.95,
    resamples: int = 100,
    seed: int = 0,
) -> Forecast:
    """The forecast of ``cohort`` (needs ``cohort.entered > 0``; raises ``ValueError`` when the
    history has fewer than ``MIN_HISTORY`` conversions).

    The interval adds up three independent errors: the cohort's own (observed information of
    ``pi``), the older cohorts' (``resamples`` multinomial redraws of their histograms, from a
    fixed ``seed``: the same input gives the same interval) and the binomial spread of the
    outcomes still to come."""
    if history.conversions < MIN_HISTORY:
        raise ValueError(f"needs {MIN_HISTORY} conversions among instances older than the horizon")
    if cohort.entered <= 0:
        raise ValueError("no instances to forecast")
    f, s_n = history.curves()
    active = np.asarray(cohort.active_by_age, dtype=float)[: len(f)]
    rng = np.random.default_rng(seed)
    goals = np.asarray(history.goals, dtype=float)
    ends = np.asarray(history.non_converter_ends, dtype=float)
    drawn_goals = rng.multinomial(int(goals.sum()), goals / goals.sum(), size=resamples)
    drawn_ends = (
        rng.multinomial(int(ends.sum()), ends / ends.sum(), size=resamples)
        if ends.sum()
        else np.zeros((resamples, len(ends)))
    )
    redrawn_f, redrawn_s = curves(drawn_goals.astype(float), drawn_ends.astype(float))
    pending = np.vstack([1.0 - f, 1.0 - redrawn_f])
    still = np.vstack([s_n, redrawn_s])
    pi, info = _converter_share(cohort.converted, cohort.ended, active, pending, still)
    chances = _chances(pi, pending, still)
    rates = (cohort.converted + (active * chances).sum(axis=1)) / cohort.entered
    centre, p = float(rates[0]), chances[0]
    # the cohort's own error: rate at pi +- one standard error (observed information)
    pi_sd = 1.0 / np.sqrt(max(float(info[0]), _EPS))
    around = np.clip(np.array([pi[0] - pi_sd, pi[0] + pi_sd]), 1e-9, 1 - 1e-9)
    shifted = (cohort.converted + (active * _chances(around, pending[:1].repeat(2, 0),
               still[:1].repeat(2, 0))).sum(axis=1)) / cohort.entered  # fmt: skip
    own_sd = float(abs(shifted[1] - shifted[0])) / 2
    history_sd = float(rates[1:].std()) if resamples > 1 else 0.0
    outcome_sd = float(np.sqrt((active * p * (1 - p)).sum())) / cohort.entered
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    half = z * float(np.sqrt(own_sd**2 + history_sd**2 + outcome_sd**2))
    pi_half = z * float(np.sqrt(pi_sd**2 + float(pi[1:].std()) ** 2))
    expected = float((active * p).sum())
    n_active = float(active.sum())
    floor = cohort.converted / cohort.entered
    ceiling = (cohort.converted + n_active) / cohort.entered
    return Forecast(
        rate=float(pi[0]),
        rate_low=max(0.0, float(pi[0]) - pi_half),
        rate_high=min(1.0, float(pi[0]) + pi_half),
        expected_conversions=expected,
        success_probability=expected / n_active if n_active else None,
        conversion_rate=centre,
        conversion_rate_low=max(floor, centre - half),
        conversion_rate_high=min(ceiling, centre + half),
        horizon_hours=history.horizon,
        history_conversions=history.conversions,
    )


#: Per instance of ``{relation}`` (``entered_at``, ``goal_at``, ``ended_at``) filtered by
#: ``{where}``: the hour (capped) it ended or is running at, and whether it ended; parameter
#: $now and $cap (``MAX_HORIZON_HOURS``). For :func:`horizon_hours`.
DURATION_SQL = """
SELECT least(floor(greatest((epoch(coalesce(ended_at, $now)) - epoch(entered_at)), 0)
                   / 3600)::INTEGER, $cap) AS hour,
       count(*) FILTER (WHERE ended_at IS NOT NULL) AS ended,
       count(*) FILTER (WHERE ended_at IS NULL) AS running
FROM {relation} WHERE ({where}) AND entered_at <= $now GROUP BY 1
"""

#: The older cohorts (entered at least $horizon hours before $now): conversions by the hour of
#: their goal and non-converters by the hour they ended (both capped at the horizon: its bucket
#: holds the conversions at or after it and the non-converters still running).
HISTORY_SQL = """
SELECT least(floor(greatest(coalesce(epoch(goal_at), epoch(coalesce(ended_at, $now)))
                            - epoch(entered_at), 0) / 3600)::INTEGER, $horizon) AS hour,
       count(*) FILTER (WHERE goal_at IS NOT NULL) AS goals,
       count(*) FILTER (WHERE goal_at IS NULL) AS non_converters
FROM {relation}
WHERE ({where}) AND entered_at <= $now - to_hours($horizon::BIGINT)
GROUP BY 1
"""

#: The cohort: converted, ended without the goal, and active instances by age (capped).
COHORT_SQL = """
SELECT least(floor(greatest((epoch($now) - epoch(entered_at)), 0) / 3600)::INTEGER,
             $horizon) AS hour,
       count(*) FILTER (WHERE goal_at IS NOT NULL) AS converted,
       count(*) FILTER (WHERE goal_at IS NULL AND ended_at IS NOT NULL) AS ended,
       count(*) FILTER (WHERE goal_at IS NULL AND ended_at IS NULL) AS active
FROM {relation} WHERE ({where}) AND entered_at <= $now GROUP BY 1
"""


def histogram(rows: list[tuple[int, ...]], size: int, column: int) -> np.ndarray:
    """Counts of ``column`` of SQL rows ``(hour, ...)`` as an array of ``size`` hours."""
    out = np.zeros(size)
    for row in rows:
        out[min(int(row[0]), size - 1)] += float(row[column])
    return out
