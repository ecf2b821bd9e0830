"""Experiments: journey splits measured and decided so that they can be watched at any time.

**One model** for the auto-winner, the API, the CLI and the journey page:

* *Unit*: the profile (assignment is sticky per profile), counted once per journey version from
  its first *exposure*, the moment it reached the split. Test profiles never count.
* *Arms*: the split's variants with their configured weights, plus the held-out control group
  when the split has a ``control_weight``; the control is that group, else the first variant.
* *Conversion*: the journey's goal event (with its property filters) by the profile within the
  experiment ``window`` after exposure, wherever its instance is by then (so a control group that
  ends at the split converts like any arm). Only profiles whose window has closed count: an arm
  that converts *sooner* but not *more* has the same rate as the others.
* *Versions and decisions*: each published version is its own experiment; once decided, only
  profiles exposed before the decision count (later ones all take the winner).

**Method**: the mixture sequential probability ratio test (mSPRT; Robbins 1970, Johari, Pekelis
and Walsh 2017 "Always valid inference") on the difference of two conversion rates, with a
normal approximation (rates for the variance shrunk as (c + 1) / (n + 2)) and a normal mixture of
standard deviation ``TAU_SHARE`` x the pooled rate. Its p-value ``min(1, m / Lambda)`` and its
confidence sequence (the differences the test would not reject) come from the same likelihood
ratio, hold at every look however often one looks, and agree exactly: p < alpha if and only if
the interval excludes 0. ``m`` is the number of variants compared with the control (Bonferroni),
and ``m`` x guardrails for the guardrail checks. Plus the Bayesian chance to beat the control
(independent Beta(1 + conversions, 1 + failures) posteriors) and a sample ratio mismatch check
(chi-square of the exposed profiles against the configured weights; mismatch when p < 0.001).

**Decision** (every pass of the auto-winner, and on every page view): nothing before
``min_runtime`` has passed since the first exposure and every arm has ``min_sample`` closed
windows, nor while the sample ratio mismatches. Then, in order: a variant that raises a
guardrail event's rate above the control's by more than its ``max_increase`` (the interval's
lower end above the bound) stops the experiment, everyone taking the control; else the variant
with the highest lower bound among those significantly better than the control wins, provided
its observed guardrail increases stay within their bounds; else, when every variant is
significantly worse, the control wins; else it keeps running.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy import integrate, stats

from partitur.analytics.contracts import (
    ArmComparison,
    ArmResult,
    ExperimentDecision,
    ExperimentReport,
    ExperimentResult,
    GuardrailCheck,
    SampleRatioCheck,
    VariantRate,
)
from partitur.analytics.engine import AnalyticsEngine, naive_utc
from partitur.analytics.filters import event_match_sql
from partitur.core.durations import parse_duration
from partitur.core.errors import ValidationFailed
from partitur.journeys.contracts import SplitExperiment

SRM_ALPHA = 0.001
#: The mixing distribution's standard deviation as a share of the pooled conversion rate: the
#: test is most powerful for relative lifts of about this size (10-30 %).
TAU_SHARE = 0.2
METHOD = (
    "mSPRT (mixture sequential probability ratio test, normal mixture sd 0.2 x pooled rate) on "
    "the difference in conversion rates: always-valid p-value and confidence sequence from the "
    "same likelihood ratio, Bonferroni across the variants"
)

#: Decision outcomes of :func:`decide_arrays`.
CONTINUE, WINNER, GUARDRAIL, CONTROL_BETTER = 0, 1, 2, 3


# --- the sequential test (vectorised) -------------------------------------------------------------


@dataclass(frozen=True)
class SequentialTest:
    """Always-valid inference on ``rate(variant) - rate(control)``, element-wise."""

    difference: np.ndarray
    p_value: np.ndarray
    low: np.ndarray
    high: np.ndarray


def sequential_test(
    control_conversions: Any,
    control_n: Any,
    variant_conversions: Any,
    variant_n: Any,
    *,
    alpha: float = 0.05,
    comparisons: int = 1,
    tau_share: float = TAU_SHARE,
    tau_floor: Any = 0.0,
) -> SequentialTest:
    """The mSPRT of each (control, variant) pair of counts (numpy arrays broadcast together).

    ``p_value`` is ``min(1, comparisons / Lambda)``; ``[low, high]`` is the confidence sequence
    at level ``1 - alpha / comparisons``, so ``p_value < alpha`` exactly when it excludes 0.
    The mixture's standard deviation is ``tau_share`` x the pooled rate, at least ``tau_floor``
    (a guardrail's bound: rare events are tested for harm of that size). Groups with n = 0 give
    NaN."""
    cc, nc = np.asarray(control_conversions, float), np.asarray(control_n, float)
    cv, nv = np.asarray(variant_conversions, float), np.asarray(variant_n, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = cv / nv - cc / nc
        pc, pv = (cc + 1) / (nc + 2), (cv + 1) / (nv + 2)
        variance = pc * (1 - pc) / nc + pv * (1 - pv) / nv
        pooled = (cc + cv + 1) / (nc + nv + 2)
        tau2 = np.maximum(tau_share * pooled, tau_floor) ** 2
        log_lambda = 0.5 * np.log(variance / (variance + tau2)) + tau2 * difference**2 / (
            2 * variance * (variance + tau2)
        )
        p_value = np.minimum(1.0, comparisons * np.exp(-log_lambda))
        threshold = math.log(comparisons / alpha)
        half = np.sqrt(
            2
            * variance
            * (variance + tau2)
            / tau2
            * (threshold + 0.5 * np.log((variance + tau2) / variance))
        )
    return SequentialTest(difference, p_value, difference - half, difference + half)


def decide_arrays(
    conversions: np.ndarray,
    closed: np.ndarray,
    *,
    alpha: float,
    min_sample: int,
    control: int = 0,
    guard_events: np.ndarray | None = None,
    guard_bounds: Sequence[float] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """The decision rule for many experiments at once: ``conversions`` and ``closed`` are
    ``[..., arms]`` arrays, ``guard_events`` ``[..., arms, guardrails]``. Returns ``(outcome,
    arm)`` arrays of shape ``[...]``: outcome ``CONTINUE``, ``WINNER`` (arm = the winner),
    ``GUARDRAIL`` (arm = the variant that breached) or ``CONTROL_BETTER`` (arm = control)."""
    conversions = np.asarray(conversions, float)
    closed = np.asarray(closed, float)
    arms = conversions.shape[-1]
    variants = [j for j in range(arms) if j != control]
    m = len(variants)
    shape = conversions.shape[:-1]
    outcome = np.full(shape, CONTINUE, dtype=np.int8)
    chosen = np.full(shape, -1, dtype=np.int64)
    if m == 0:
        return outcome, chosen
    ready = (closed >= min_sample).all(axis=-1)
    c_conv, c_n = conversions[..., control, None], closed[..., control, None]
    test = sequential_test(
        c_conv, c_n, conversions[..., variants], closed[..., variants], alpha=alpha, comparisons=m
    )
    better = test.low > 0
    breached = np.zeros(shape, dtype=bool)
    excess = np.zeros((*shape, m))
    if guard_events is not None and len(guard_bounds):
        guard = np.asarray(guard_events, float)
        bounds = np.asarray(guard_bounds, float)
        g_test = sequential_test(
            guard[..., control, None, :],
            c_n[..., None],
            guard[..., variants, :],
            closed[..., variants, None],
            alpha=alpha,
            comparisons=m * len(bounds),
            tau_floor=bounds,
        )
        # a variant showing more harm than its bound allows is no winner, proven or not
        better &= ~(g_test.difference > bounds).any(axis=-1)
        excess = np.where(g_test.low > bounds, g_test.low - bounds, -np.inf).max(axis=-1)
        breached = ready & (excess > -np.inf).any(axis=-1)
    worse = (test.high < 0).all(axis=-1)
    best = np.asarray(variants)[np.argmax(np.where(better, test.low, -np.inf), axis=-1)]
    outcome = np.where(ready & better.any(axis=-1), WINNER, outcome)
    chosen = np.where(outcome == WINNER, best, chosen)
    outcome = np.where(ready & (outcome == CONTINUE) & worse, CONTROL_BETTER, outcome)
    chosen = np.where(outcome == CONTROL_BETTER, control, chosen)
    outcome = np.where(breached, GUARDRAIL, outcome)
    chosen = np.where(breached, np.asarray(variants)[np.argmax(excess, axis=-1)], chosen)
    return outcome, chosen


# --- per-profile tallies (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class Exposures:
    """One row per exposed profile: its arm (index), exposure time and the delays from exposure
    to its first goal event and to its first event of each guardrail (seconds; NaN: none
    within the window)."""

    arm: np.ndarray
    exposed: np.ndarray
    goal_delay: np.ndarray
    guard_delay: np.ndarray  # [profiles, guardrails]


@dataclass(frozen=True)
class Tally:
    """Counts per arm (with a leading look axis when tallied at several moments)."""

    exposed: np.ndarray  # [..., arms]
    closed: np.ndarray
    conversions: np.ndarray
    guard_events: np.ndarray  # [..., arms, guardrails]


def tally(exposures: Exposures, *, arms: int, window: float, now: Any) -> Tally:
    """Counts per arm at ``now`` (seconds, like ``exposed``; an array of moments gives counts
    per moment): profiles exposed by then, those whose window has closed by then, and of those
    the ones that converted (and hit each guardrail) within their window. Set-based: prefix
    sums over the profiles in exposure order, O(profiles log profiles + moments)."""
    looks = np.asarray(now, dtype=float)
    order = np.argsort(exposures.exposed, kind="stable")
    moments = exposures.exposed[order]
    arm = exposures.arm[order]
    n = len(order)
    rails = exposures.guard_delay.shape[1]
    # flags per profile: [exposed, converted, guardrail 1, ...] counted per arm
    flags = np.empty((n, 2 + rails), dtype=np.int64)
    flags[:, 0] = 1
    flags[:, 1] = exposures.goal_delay[order] <= window
    flags[:, 2:] = exposures.guard_delay[order] <= window
    per_arm = np.zeros((n + 1, arms, 2 + rails), dtype=np.int64)
    per_arm[1 + np.arange(n), arm] = flags
    prefix = per_arm.cumsum(axis=0)
    seen = prefix[np.searchsorted(moments, looks, side="right")]
    done = prefix[np.searchsorted(moments, looks - window, side="right")]
    return Tally(
        exposed=seen[..., 0],
        closed=done[..., 0],
        conversions=done[..., 1],
        guard_events=done[..., 2:],
    )


# --- small statistics ---------------------------------------------------------------------------


def chance_to_beat(
    control: tuple[int, int], variant: tuple[int, int], prior: tuple[float, float] = (1.0, 1.0)
) -> float:
    """P(p_variant > p_control) under Beta posteriors: the integral of
    pdf_control(x) * sf_variant(x) over [0, 1]."""
    a_c, b_c = prior[0] + control[0], prior[1] + control[1] - control[0]
    a_v, b_v = prior[0] + variant[0], prior[1] + variant[1] - variant[0]
    post_c, post_v = stats.beta(a_c, b_c), stats.beta(a_v, b_v)
    lo = min(post_c.ppf(1e-12), post_v.ppf(1e-12))
    hi = max(post_c.isf(1e-12), post_v.isf(1e-12))
    # the mass sits in a narrow band for large samples: give quad the interesting points
    points = sorted({float(post_c.mean()), float(post_v.mean())})
    value, _ = integrate.quad(
        lambda x: post_c.pdf(x) * post_v.sf(x),
        lo,
        hi,
        points=points,
        limit=200,
        epsabs=1e-11,
        epsrel=1e-10,
    )
    return float(min(1.0, max(0.0, value)))


def sample_ratio_mismatch(
    observed: Sequence[int], expected_weights: Sequence[float] | None = None
) -> SampleRatioCheck:
    """Chi-square goodness of fit of group sizes against the configured weights."""
    counts = np.asarray(observed, dtype=float)
    weights = np.asarray(
        expected_weights if expected_weights is not None else [1.0] * len(counts), dtype=float
    )
    if len(weights) != len(counts) or (weights <= 0).any():
        raise ValidationFailed("give one positive weight per group", field="expected_weights")
    weights = weights / weights.sum()
    total = counts.sum()
    if total <= 0:
        return SampleRatioCheck(
            expected_weights=[float(w) for w in weights],
            observed=[int(c) for c in counts],
            chi_square=0.0,
            p_value=1.0,
            mismatch=False,
        )
    expected = weights * total
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    p = float(stats.chi2.sf(chi2, len(counts) - 1))
    return SampleRatioCheck(
        expected_weights=[float(w) for w in weights],
        observed=[int(c) for c in counts],
        chi_square=chi2,
        p_value=p,
        mismatch=p < SRM_ALPHA,
    )


def _check(pair: tuple[int, int], field: str) -> tuple[int, int]:
    conversions, n = int(pair[0]), int(pair[1])
    if n <= 0:
        raise ValidationFailed("a group needs at least one member", field=f"{field}.n")
    if conversions < 0 or conversions > n:
        raise ValidationFailed("conversions must be between 0 and n", field=f"{field}.conversions")
    return conversions, n


def _float(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def compare(
    *,
    control: tuple[int, int],
    variant: tuple[int, int],
    confidence: float = 0.95,
    expected_weights: tuple[float, float] = (0.5, 0.5),
    names: tuple[str, str] = ("control", "variant"),
) -> ExperimentResult:
    """Compare ``variant`` with ``control``, each given as ``(conversions, n)``, with the
    always-valid test of this module (so the figures stay valid if the groups are compared
    again as they grow). Raises ``ValidationFailed`` for impossible counts or a confidence
    outside (0, 1)."""
    if not 0 < confidence < 1:
        raise ValidationFailed("confidence must be between 0 and 1", field="confidence")
    c_conv, c_n = _check(control, "control")
    v_conv, v_n = _check(variant, "variant")
    p_c, p_v = c_conv / c_n, v_conv / v_n
    test = sequential_test(c_conv, c_n, v_conv, v_n, alpha=1 - confidence)
    p_value = float(test.p_value)
    return ExperimentResult(
        control=VariantRate(name=names[0], conversions=c_conv, n=c_n, rate=p_c),
        variant=VariantRate(name=names[1], conversions=v_conv, n=v_n, rate=p_v),
        absolute_difference=p_v - p_c,
        difference_ci_low=float(test.low),
        difference_ci_high=float(test.high),
        relative_lift=p_v / p_c - 1 if p_c > 0 else None,
        confidence=confidence,
        p_value=p_value,
        significant=p_value < 1 - confidence,
        chance_to_beat_control=chance_to_beat((c_conv, c_n), (v_conv, v_n)),
        srm=sample_ratio_mismatch([c_n, v_n], expected_weights),
        method=METHOD,
    )


# --- journey splits -------------------------------------------------------------------------------


def _seconds(moment: datetime) -> float:
    return moment.astimezone(UTC).timestamp()


def exposures(
    engine: AnalyticsEngine, experiment: SplitExperiment, *, until: datetime
) -> Exposures:
    """Every profile exposed to the split before ``until`` with its arm and the delays to its
    goal and guardrail events (within the window), from the store (DuckDB). Raises
    ``NotFound`` when the journey tables are missing."""
    engine.require("journey_instances", "journey_transitions")
    settings = experiment.settings
    window = parse_duration(settings.window).total_seconds()
    keys = [a.key for a in experiment.arms]
    params: dict[str, Any] = {
        "journey": experiment.journey_id,
        "version": experiment.version,
        "node": experiment.split_node,
        "path": f'$."{experiment.split_node}"',
        "until": naive_utc(until, "until"),
        "window": int(window),
    }
    test = (
        " AND NOT coalesce(i.is_test, false)"
        if "is_test" in engine.columns.get("journey_instances", {})
        else ""
    )
    metrics = []
    if experiment.goal is not None:
        metrics.append(event_match_sql(experiment.goal.event, experiment.goal.where))
    metrics += [event_match_sql(g.event, g.where) for g in settings.guardrails]
    if "events" not in engine.available:
        metrics = ["FALSE"] * len(metrics)  # no event log yet: nobody converted
    ctes = "".join(
        f""", m{i} AS (
            SELECT u.profile_id, min(e."timestamp") AS at FROM units u
            JOIN events e ON e.profile_id = u.profile_id AND e."timestamp" >= u.exposed_at
                 AND e."timestamp" <= u.exposed_at + to_seconds($window::BIGINT)
            WHERE {condition} GROUP BY 1)"""
        for i, condition in enumerate(metrics)
        if "events" in engine.available
    )
    if not ctes:
        # a split without goal and guardrails measures exposure only: DuckDB refuses a
        # named parameter that the statement does not use
        del params["window"]
    delays = "".join(
        f", epoch(m{i}.at) - epoch(u.exposed_at)"
        if "events" in engine.available
        else ", NULL::DOUBLE"
        for i in range(len(metrics))
    )
    joins = "".join(
        f" LEFT JOIN m{i} USING (profile_id)"
        for i in range(len(metrics))
        if "events" in engine.available
    )
    rows = engine.query(
        f"""
        WITH reached AS (
            SELECT i.profile_id, json_extract_string(i.split_variants, $path) AS arm,
                   t."at" AS exposed_at
            FROM journey_instances i JOIN journey_transitions t ON t.instance_id = i.id
            WHERE i.journey_id = $journey AND i.version = $version AND t.node_id = $node
              AND t."at" < $until{test}
        ), units AS (
            SELECT profile_id, arg_min(arm, exposed_at) AS arm, min(exposed_at) AS exposed_at
            FROM reached WHERE arm IS NOT NULL GROUP BY 1
        ){ctes}
        SELECT u.arm, epoch(u.exposed_at){delays} FROM units u{joins}
        """,
        params,
    ).fetchall()
    index = {k: i for i, k in enumerate(keys)}
    kept = [r for r in rows if r[0] in index]  # arms of another definition are not this test
    values = np.array(
        [[np.nan if v is None else float(v) for v in r[1:]] for r in kept], dtype=float
    ).reshape(len(kept), 1 + len(metrics))
    first_guard = 2 if experiment.goal is not None else 1
    return Exposures(
        arm=np.array([index[r[0]] for r in kept], dtype=np.int64),
        exposed=values[:, 0],
        goal_delay=values[:, 1] if experiment.goal is not None else np.full(len(kept), np.nan),
        guard_delay=values[:, first_guard:],
    )


def report(
    experiment: SplitExperiment,
    data: Exposures,
    *,
    now: datetime,
    decided: ExperimentDecision | None = None,
) -> ExperimentReport:
    """The experiment's figures and decision at ``now`` from its exposures (pure); ``decided``
    is the auto-winner's recorded decision of a split that has a winner."""
    settings = experiment.settings
    alpha = settings.significance
    window = parse_duration(settings.window)
    min_runtime = parse_duration(settings.min_runtime)
    keys = [a.key for a in experiment.arms]
    arms = len(keys)
    control = keys.index(experiment.control)
    counts = tally(data, arms=arms, window=window.total_seconds(), now=_seconds(now))
    weights = np.array([a.weight for a in experiment.arms], dtype=float)
    shares = weights / weights.sum()
    srm = sample_ratio_mismatch([int(n) for n in counts.exposed], list(weights))
    started = (
        datetime.fromtimestamp(float(data.exposed.min()), tz=UTC) if data.exposed.size else None
    )
    runtime = (now - started) if started is not None else timedelta(0)
    arm_results = [
        ArmResult(
            arm=key,
            weight=float(shares[i]),
            control=i == control,
            exposed=int(counts.exposed[i]),
            closed=int(counts.closed[i]),
            conversions=int(counts.conversions[i]),
            rate=float(counts.conversions[i] / counts.closed[i]) if counts.closed[i] else None,
            guardrail_rates=[
                float(counts.guard_events[i, g] / counts.closed[i]) if counts.closed[i] else None
                for g in range(len(settings.guardrails))
            ],
        )
        for i, key in enumerate(keys)
    ]
    variants = [j for j in range(arms) if j != control]
    m = max(1, len(variants))
    comparisons = []
    c_conv, c_n = counts.conversions[control], counts.closed[control]
    for j in variants:
        v_conv, v_n = counts.conversions[j], counts.closed[j]
        test = sequential_test(c_conv, c_n, v_conv, v_n, alpha=alpha, comparisons=m)
        checks = []
        for g, rail in enumerate(settings.guardrails):
            g_test = sequential_test(
                counts.guard_events[control, g],
                c_n,
                counts.guard_events[j, g],
                v_n,
                alpha=alpha,
                comparisons=m * len(settings.guardrails),
                tau_floor=rail.max_increase,
            )
            low = _float(g_test.low)
            checks.append(
                GuardrailCheck(
                    event=rail.event,
                    max_increase=rail.max_increase,
                    control_rate=arm_results[control].guardrail_rates[g],
                    arm_rate=arm_results[j].guardrail_rates[g],
                    difference=_float(g_test.difference),
                    ci_low=low,
                    ci_high=_float(g_test.high),
                    breached=low is not None and low > rail.max_increase,
                )
            )
        p_value = _float(test.p_value)
        comparisons.append(
            ArmComparison(
                arm=keys[j],
                control=keys[control],
                difference=_float(test.difference),
                ci_low=_float(test.low),
                ci_high=_float(test.high),
                relative_lift=(v_conv / v_n) / (c_conv / c_n) - 1
                if c_n and v_n and c_conv
                else None,
                p_value=p_value,
                significant=p_value is not None and p_value < alpha,
                chance_to_beat_control=chance_to_beat(
                    (int(c_conv), int(c_n)), (int(v_conv), int(v_n))
                )
                if c_n and v_n
                else None,
                guardrails=checks,
            )
        )
    decision = _decision(
        experiment,
        counts,
        control=control,
        runtime=runtime,
        min_runtime=min_runtime,
        srm=srm,
        decided=decided,
    )
    return ExperimentReport(
        journey_id=experiment.journey_id,
        journey_key=experiment.journey_key,
        version=experiment.version,
        split_node=experiment.split_node,
        method=METHOD,
        goal=experiment.goal.event if experiment.goal else None,
        window=settings.window,
        significance=alpha,
        confidence=1 - alpha,
        min_sample=settings.min_sample,
        min_runtime=settings.min_runtime,
        auto_winner=experiment.auto_winner,
        started_at=started,
        runtime_seconds=runtime.total_seconds(),
        control=keys[control],
        arms=arm_results,
        comparisons=comparisons,
        srm=srm,
        decision=decision,
    )


def _decision(
    experiment: SplitExperiment,
    counts: Tally,
    *,
    control: int,
    runtime: timedelta,
    min_runtime: timedelta,
    srm: SampleRatioCheck,
    decided: ExperimentDecision | None,
) -> ExperimentDecision:
    settings = experiment.settings
    keys = [a.key for a in experiment.arms]
    if experiment.winner is not None:
        if decided is not None and decided.arm == experiment.winner:
            return decided
        return ExperimentDecision(
            status="decided",
            arm=experiment.winner,
            reason=f"everyone who reaches the split takes {experiment.winner}",
        )
    if experiment.goal is None:
        return ExperimentDecision(status="no_goal", reason="the journey has no goal to compare")
    if runtime < min_runtime:
        return ExperimentDecision(
            status="collecting",
            reason=f"runs at least {settings.min_runtime} (so far {_days(runtime)})",
        )
    short = [keys[i] for i in range(len(keys)) if counts.closed[i] < settings.min_sample]
    if short:
        return ExperimentDecision(
            status="collecting",
            reason=(
                f"needs {settings.min_sample} profiles with a closed {settings.window} window "
                f"per arm ({', '.join(short)} below)"
            ),
        )
    if srm.mismatch:
        return ExperimentDecision(
            status="sample_ratio_mismatch",
            reason=(
                "the arms' sizes do not fit their weights (chi-square p = "
                f"{srm.p_value:.2g}): the assignment is suspect, nothing is decided"
            ),
        )
    outcome, arm = decide_arrays(
        counts.conversions,
        counts.closed,
        alpha=settings.significance,
        min_sample=settings.min_sample,
        control=control,
        guard_events=counts.guard_events,
        guard_bounds=[g.max_increase for g in settings.guardrails],
    )
    code, chosen = int(outcome), int(arm)
    if code == GUARDRAIL:
        return ExperimentDecision(
            status="guardrail",
            arm=keys[control],
            reason=(
                f"{keys[chosen]} raises a guardrail event beyond its bound: stopped, everyone "
                f"takes {keys[control]}"
            ),
        )
    if code == WINNER:
        return ExperimentDecision(
            status="winner",
            arm=keys[chosen],
            reason=f"{keys[chosen]} converts better than {keys[control]}",
        )
    if code == CONTROL_BETTER:
        return ExperimentDecision(
            status="control_better",
            arm=keys[control],
            reason=f"every variant converts worse than {keys[control]}",
        )
    return ExperimentDecision(status="running", reason="no significant difference yet")


def _days(span: timedelta) -> str:
    return f"{span.total_seconds() / 86400:.1f} days"


def journey_experiment(
    engine: AnalyticsEngine,
    experiment: SplitExperiment,
    *,
    now: datetime,
    decided: ExperimentDecision | None = None,
) -> ExperimentReport:
    """The report of one journey split at ``now``; a decided split counts the profiles exposed
    before its decision (``decided.decided_at``)."""
    until = decided.decided_at if decided is not None and decided.decided_at else now
    return report(experiment, exposures(engine, experiment, until=until), now=now, decided=decided)
