"""BG/NBD and Gamma-Gamma: likelihood formulas, parameter recovery and predictions.

The CDNOW summary data the published estimates come from cannot be downloaded here, so the
published parameters (Fader, Hardie & Lee 2005: r=0.243, alpha=4.414, a=0.793, b=2.426;
Fader & Hardie 2013: p=6.25, q=3.74, v=15.44) are used as the *true* parameters of simulated
customers with CDNOW-like observation windows (27-39 weeks), and the fit must recover them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate, stats

from partitur.ml import clv

CDNOW_BG = (0.243, 4.414, 0.793, 2.426)
CDNOW_GG = (6.25, 3.74, 15.44)


@pytest.fixture(scope="module")
def cdnow_like() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2005)
    big_t = rng.uniform(27.0, 39.0, 40_000)
    x, t_x, big_t = clv.simulate_bg_nbd(*CDNOW_BG, big_t, rng=rng)
    m = clv.simulate_gamma_gamma(*CDNOW_GG, x, rng=rng)
    return x, t_x, big_t, m


def _direct_likelihood(r: float, alpha: float, a: float, b: float, x: int, tx: float, t: float):
    """Integrate the individual-level likelihood numerically over lambda ~ Gamma(r, alpha)
    and p ~ Beta(a, b) (the two mixing integrals are independent, so 1-D quadrature each)."""

    def over_p(f) -> float:
        return integrate.quad(lambda p: f(p) * stats.beta.pdf(p, a, b), 0, 1, epsabs=1e-14)[0]

    def over_lambda(at: float) -> float:
        return integrate.quad(
            lambda lam: lam**x * np.exp(-lam * at) * stats.gamma.pdf(lam, r, scale=1 / alpha),
            0,
            np.inf,
            epsabs=1e-14,
        )[0]

    alive = over_p(lambda p: (1 - p) ** x) * over_lambda(t)
    dropped = over_p(lambda p: p * (1 - p) ** (x - 1)) * over_lambda(tx) if x > 0 else 0.0
    return np.log(alive + dropped)


@pytest.mark.parametrize(
    ("x", "tx", "t"), [(0, 0.0, 38.0), (1, 5.5, 30.0), (3, 20.0, 35.0), (7, 36.0, 38.0)]
)
def test_bg_nbd_log_likelihood_equals_direct_integration(x: int, tx: float, t: float) -> None:
    params = (1.2, 4.0, 1.5, 2.5)  # r > 1 keeps the gamma density bounded for quadrature
    closed = clv.bg_nbd_log_likelihood(*params, [x], [tx], [t])[0]
    assert closed == pytest.approx(_direct_likelihood(*params, x, tx, t), abs=1e-6)


def test_gamma_gamma_log_likelihood_equals_direct_integration() -> None:
    p, q, v = 6.25, 3.74, 15.44
    x, m = 4, 12.5

    # z_1..z_x ~ Gamma(p, nu) => sum ~ Gamma(p x, nu); mean m = sum / x
    def integrand(nu: float) -> float:
        density_of_mean = x * stats.gamma.pdf(m * x, p * x, scale=1 / nu)
        return density_of_mean * stats.gamma.pdf(nu, q, scale=1 / v)

    value, _ = integrate.quad(integrand, 0, np.inf, epsabs=1e-14)
    closed = clv.gamma_gamma_log_likelihood(p, q, v, [x], [m])[0]
    assert closed == pytest.approx(np.log(value), abs=1e-6)


def test_fit_bg_nbd_recovers_cdnow_parameters(cdnow_like) -> None:
    x, t_x, big_t, _ = cdnow_like
    fit = clv.fit_bg_nbd(x, t_x, big_t)
    assert fit.converged
    assert fit.r == pytest.approx(CDNOW_BG[0], rel=0.08)
    assert fit.alpha == pytest.approx(CDNOW_BG[1], rel=0.12)
    assert fit.a == pytest.approx(CDNOW_BG[2], rel=0.25)
    assert fit.b == pytest.approx(CDNOW_BG[3], rel=0.30)
    # maximum likelihood: no worse than the true parameters
    truth = clv.bg_nbd_log_likelihood(*CDNOW_BG, x, t_x, big_t).sum()
    assert fit.log_likelihood >= truth
    assert fit.log_likelihood == pytest.approx(
        clv.bg_nbd_log_likelihood(fit.r, fit.alpha, fit.a, fit.b, x, t_x, big_t).sum()
    )


def test_fit_gamma_gamma_recovers_cdnow_parameters(cdnow_like) -> None:
    x, _, _, m = cdnow_like
    fit = clv.fit_gamma_gamma(x, m)
    assert fit.customers == int((x > 0).sum())
    # p and q/v are only weakly separable; the mean spend p v / (q - 1) is tightly identified
    assert fit.p == pytest.approx(CDNOW_GG[0], rel=0.15)
    assert fit.q == pytest.approx(CDNOW_GG[1], rel=0.25)
    true_mean = CDNOW_GG[0] * CDNOW_GG[2] / (CDNOW_GG[1] - 1)
    assert fit.p * fit.v / (fit.q - 1) == pytest.approx(true_mean, rel=0.05)


def test_predictions_with_the_published_cdnow_parameters() -> None:
    bg = clv.BgNbdFit(*CDNOW_BG, log_likelihood=0.0, customers=0, converged=True)
    # Fader, Hardie & Lee (2005), section 5: a customer with x=2, t_x=30.43, T=38.86 is
    # expected to make 1.226 purchases in the next 39 weeks.
    expected = clv.expected_purchases(bg, 39.0, [2], [30.43], [38.86])[0]
    assert expected == pytest.approx(1.226, abs=0.002)
    # A brand-new customer's conditional expectation tends to the population curve E[X(t)].
    fresh = clv.expected_purchases(bg, 52.0, [0], [0.0], [1e-9])[0]
    assert fresh == pytest.approx(clv.expected_purchases_population(bg, 52.0), rel=1e-6)
    # Without repeat purchases a customer is certainly alive; a long silence makes one less so.
    alive = clv.probability_alive(bg, [0, 5, 5], [0.0, 38.0, 5.0], [38.0, 38.0, 38.0])
    assert alive[0] == 1.0
    assert alive[1] > 0.8 > alive[2]


def test_discounted_clv_grows_with_spend_and_shrinks_with_discount() -> None:
    bg = clv.BgNbdFit(*CDNOW_BG, log_likelihood=0.0, customers=0, converged=True)
    gg = clv.GammaGammaFit(*CDNOW_GG, log_likelihood=0.0, customers=0, converged=True)
    args = ([3, 3], [30.0, 30.0], [38.0, 38.0], [20.0, 80.0])
    low, high = clv.customer_lifetime_value(bg, gg, *args, horizon=12, period=4.345)
    assert 0 < low < high
    undiscounted = clv.customer_lifetime_value(
        bg, gg, *args, horizon=12, period=4.345, discount_rate=0.0
    )[0]
    spend = clv.conditional_expected_average_value(gg, [3], [20.0])[0]
    purchases = clv.expected_purchases(bg, 12 * 4.345, [3], [30.0], [38.0])[0]
    assert undiscounted == pytest.approx(spend * purchases, rel=1e-9)
    assert low < undiscounted


def test_inconsistent_summaries_are_refused() -> None:
    with pytest.raises(ValueError, match="recency cannot exceed T"):
        clv.fit_bg_nbd([1], [5.0], [4.0])
    with pytest.raises(ValueError, match="recency 0"):
        clv.fit_bg_nbd([0], [2.0], [4.0])
    with pytest.raises(ValueError, match="repeat purchases"):
        clv.fit_gamma_gamma([0, 0], [0.0, 0.0])


def test_same_estimates_as_the_lifetimes_reference_package(cdnow_like) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lifetimes = pytest.importorskip("lifetimes")
    x, t_x, big_t, m = cdnow_like
    x, t_x, big_t, m = x[:5000], t_x[:5000], big_t[:5000], m[:5000]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = lifetimes.BetaGeoFitter().fit(x, t_x, big_t).params_
        gg_reference = lifetimes.GammaGammaFitter().fit(x[x > 0], m[x > 0]).params_
    ours = clv.fit_bg_nbd(x, t_x, big_t)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(ours, name) == pytest.approx(reference[name], rel=1e-3)
    gg = clv.fit_gamma_gamma(x, m)
    for name in ("p", "q", "v"):
        assert getattr(gg, name) == pytest.approx(gg_reference[name], rel=1e-3)


def test_analytic_gradient_matches_finite_differences(cdnow_like) -> None:
    x, t_x, big_t, _ = cdnow_like
    x, t_x, big_t = x[:500], t_x[:500], big_t[:500]
    params = np.array([0.3, 5.0, 0.8, 2.2])
    _, grad = clv._bg_nbd_ll_and_gradient(*params, x, t_x, big_t)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * params[i]
        up = clv.bg_nbd_log_likelihood(*(params + step), x, t_x, big_t).sum()
        down = clv.bg_nbd_log_likelihood(*(params - step), x, t_x, big_t).sum()
        assert grad[i].sum() == pytest.approx((up - down) / (2 * step[i]), rel=1e-5)


def test_a_fit_on_data_that_do_not_follow_the_model_stays_finite_and_quiet() -> None:
    """Few customers can pull the maximum likelihood towards parameters of 0 (seen with 42
    customers: a and b near 1e-236, so every prediction was NaN); the search bounds keep the
    fit finite, and the optimiser's probing raises no floating-point warnings."""
    rng = np.random.default_rng(177)
    n = int(rng.integers(5, 60))
    big_t = rng.uniform(1, 30, n)
    x = rng.integers(0, 4, n).astype(float)
    t_x = np.where(x > 0, rng.uniform(0, 1, n) * big_t, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = clv.fit_bg_nbd(x, t_x, big_t)
        predicted = clv.expected_purchases(fit, 10, x, t_x, big_t)
    assert min(fit.a, fit.b) >= np.exp(-20) * 0.99
    assert np.isfinite(predicted).all()
