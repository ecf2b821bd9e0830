"""Experiments: compare a variant with a control on conversion.

``compare(control=(conversions, n), variant=(conversions, n))`` returns per-variant rates, the
relative lift ``p_v / p_c - 1`` with a delta-method confidence interval, a two-sided p-value from
the pooled two-proportion z-test, the Bayesian chance that the variant beats the control
(independent Beta(1 + conversions, 1 + failures) posteriors, integrated numerically: exact to
~1e-9, deterministic) and a sample ratio mismatch check (chi-square of the group sizes against
the expected weights; mismatch when p < 0.001). The journey engine's auto-winner calls it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import integrate, stats

from partitur.analytics.contracts import ExperimentResult, SampleRatioCheck, VariantRate
from partitur.core.errors import ValidationFailed

SRM_ALPHA = 0.001


def _check(pair: tuple[int, int], field: str) -> tuple[int, int]:
    conversions, n = int(pair[0]), int(pair[1])
    if n <= 0:
        raise ValidationFailed("a group needs at least one member", field=f"{field}.n")
    if conversions < 0 or conversions > n:
        raise ValidationFailed("conversions must be between 0 and n", field=f"{field}.conversions")
    return conversions, n


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
    """Chi-square goodness of fit of group sizes against the expected split."""
    counts = np.asarray(observed, dtype=float)
    weights = np.asarray(
        expected_weights if expected_weights is not None else [1.0] * len(counts), dtype=float
    )
    if len(weights) != len(counts) or (weights <= 0).any():
        raise ValidationFailed("give one positive weight per group", field="expected_weights")
    weights = weights / weights.sum()
    expected = weights * counts.sum()
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    p = float(stats.chi2.sf(chi2, len(counts) - 1))
    return SampleRatioCheck(
        expected_weights=[float(w) for w in weights],
        observed=[int(c) for c in counts],
        chi_square=chi2,
        p_value=p,
        mismatch=p < SRM_ALPHA,
    )


def compare(
    *,
    control: tuple[int, int],
    variant: tuple[int, int],
    confidence: float = 0.95,
    expected_weights: tuple[float, float] = (0.5, 0.5),
    names: tuple[str, str] = ("control", "variant"),
) -> ExperimentResult:
    """Compare ``variant`` with ``control``, each given as ``(conversions, n)``.

    Raises ``ValidationFailed`` for impossible counts or a confidence outside (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValidationFailed("confidence must be between 0 and 1", field="confidence")
    c_conv, c_n = _check(control, "control")
    v_conv, v_n = _check(variant, "variant")
    p_c, p_v = c_conv / c_n, v_conv / v_n
    z_crit = float(stats.norm.ppf(0.5 + confidence / 2))
    # relative lift and its delta-method standard error: Var(R) ~ R^2 (Var pv/pv^2 + Var pc/pc^2)
    lift = low = high = None
    if p_c > 0:
        ratio = p_v / p_c
        lift = ratio - 1
        var = (p_v * (1 - p_v) / v_n) / p_c**2 + (p_v**2 * p_c * (1 - p_c) / c_n) / p_c**4
        se = math.sqrt(var)
        low, high = lift - z_crit * se, lift + z_crit * se
    pooled = (c_conv + v_conv) / (c_n + v_n)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / c_n + 1 / v_n))
    z = p_value = None
    if se0 > 0:
        z = (p_v - p_c) / se0
        p_value = float(2 * stats.norm.sf(abs(z)))
    return ExperimentResult(
        control=VariantRate(name=names[0], conversions=c_conv, n=c_n, rate=p_c),
        variant=VariantRate(name=names[1], conversions=v_conv, n=v_n, rate=p_v),
        absolute_difference=p_v - p_c,
        relative_lift=lift,
        lift_ci_low=low,
        lift_ci_high=high,
        confidence=confidence,
        z=z,
        p_value=p_value,
        significant=p_value is not None and p_value < 1 - confidence,
        chance_to_beat_control=chance_to_beat((c_conv, c_n), (v_conv, v_n)),
        srm=sample_ratio_mismatch([c_n, v_n], expected_weights),
    )


def journey_experiment(
    engine: Any,
    *,
    journey_id: str,
    split_node: str,
    control: str | None = None,
    version: int | None = None,
    confidence: float = 0.95,
) -> list[ExperimentResult]:
    """Compare the branches of a journey split: instances grouped by the variant recorded in
    ``split_variants[split_node]``, converted = status converted or ``converted_at`` set. Every
    variant is compared with ``control`` (default: the variant named "control", else the first
    by name); the SRM check assumes an even split."""
    engine.require("journey_instances")
    where = "journey_id = $j"
    if "is_test" in engine.columns.get("journey_instances", {}):
        where += " AND NOT coalesce(is_test, false)"
    params: dict[str, Any] = {"j": journey_id, "path": f'$."{split_node}"'}
    if version is not None:
        where += " AND version = $v"
        params["v"] = version
    rows = engine.query(
        f"""SELECT json_extract_string(split_variants, $path) AS variant, count(*) AS n,
                   count(*) FILTER (WHERE status = 'converted' OR converted_at IS NOT NULL)
            FROM journey_instances WHERE {where} AND split_variants IS NOT NULL
            GROUP BY 1 HAVING variant IS NOT NULL ORDER BY 1""",
        params,
    ).fetchall()
    if len(rows) < 2:
        raise ValidationFailed(
            f"split {split_node!r} has fewer than two variants with instances", field="split_node"
        )
    groups = {str(v): (int(c), int(n)) for v, n, c in rows}
    base = control or ("control" if "control" in groups else sorted(groups)[0])
    if base not in groups:
        raise ValidationFailed(f"no instances in variant {base!r}", field="control")
    return [
        compare(
            control=groups[base], variant=groups[name], confidence=confidence, names=(base, name)
        )
        for name in sorted(groups)
        if name != base
    ]
