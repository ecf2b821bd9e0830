"""Experiment statistics against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from partitur.analytics.experiments import chance_to_beat, compare, sample_ratio_mismatch
from partitur.core.errors import ValidationFailed


def test_rates_lift_and_delta_method_interval() -> None:
    r = compare(control=(100, 1000), variant=(130, 1000))
    assert (r.control.rate, r.variant.rate) == (0.1, 0.13)
    assert r.absolute_difference == pytest.approx(0.03)
    assert r.relative_lift == pytest.approx(0.3)
    # Var(R) = (.13*.87/1000)/.1^2 + (.13^2 * .1*.9/1000)/.1^4 = .01131 + .01521 = .02652
    half = 1.959964 * math.sqrt(0.02652)
    assert r.lift_ci_low == pytest.approx(0.3 - half, abs=1e-5)
    assert r.lift_ci_high == pytest.approx(0.3 + half, abs=1e-5)


def test_p_value_is_the_pooled_two_proportion_z_test() -> None:
    r = compare(control=(100, 1000), variant=(130, 1000))
    pooled = 230 / 2000
    z = 0.03 / math.sqrt(pooled * (1 - pooled) * 2 / 1000)
    assert r.z == pytest.approx(z)
    assert r.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert r.p_value == pytest.approx(0.0355, abs=1e-4)
    assert r.significant


def test_chance_to_beat_control_matches_the_beta_closed_form() -> None:
    # control 0/1 -> Beta(1, 2), variant 1/1 -> Beta(2, 1):
    # P = integral of 2(1-c)(1-c^2) dc over [0,1] = 2 (1 - 1/2 - 1/3 + 1/4) = 5/6
    assert chance_to_beat((0, 1), (1, 1)) == pytest.approx(5 / 6, abs=1e-9)
    assert chance_to_beat((10, 20), (10, 20)) == pytest.approx(0.5, abs=1e-9)
    assert compare(control=(100, 1000), variant=(130, 1000)).chance_to_beat_control == (
        pytest.approx(0.982, abs=0.002)
    )


def test_sample_ratio_mismatch_flags_a_lopsided_split() -> None:
    even = sample_ratio_mismatch([5000, 5100])
    assert even.chi_square == pytest.approx(2 * 50**2 / 5050)
    assert not even.mismatch
    skewed = sample_ratio_mismatch([5000, 5400])
    assert skewed.chi_square == pytest.approx(2 * 200**2 / 5200)
    assert skewed.mismatch
    weighted = sample_ratio_mismatch([9000, 1000], [0.9, 0.1])
    assert weighted.chi_square == 0 and not weighted.mismatch


def test_no_conversions_in_the_control_leaves_the_lift_undefined() -> None:
    r = compare(control=(0, 100), variant=(5, 100))
    assert r.relative_lift is None and r.lift_ci_low is None
    assert r.p_value is not None


def test_impossible_counts_name_the_group() -> None:
    with pytest.raises(ValidationFailed) as caught:
        compare(control=(11, 10), variant=(1, 10))
    assert caught.value.field == "control.conversions"
    with pytest.raises(ValidationFailed):
        compare(control=(1, 10), variant=(1, 0))
