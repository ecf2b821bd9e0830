"""Customer lifetime value: BG/NBD (purchase frequency) and Gamma-Gamma (spend per purchase).

Pure numpy/scipy, no I/O. The formulas follow

- Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
  Pareto/NBD Model", Marketing Science 24(2) — the BG/NBD likelihood (eq. 6), expected
  purchases in the next ``t`` periods (eq. 10) and the probability of being alive;
- Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" — the spend likelihood and
  the conditional expected average transaction value.

Inputs use the usual RFM summary per customer, in one time unit (days or weeks):
``frequency`` x = number of *repeat* purchase periods, ``recency`` t_x = age of the customer at
the last purchase, ``T`` = age of the customer at the end of the calibration period.
Published reference on the CDNOW sample (2,357 customers, weeks): BG/NBD r=0.243,
alpha=4.414, a=0.793, b=2.426 (LL = -9582.4); Gamma-Gamma p=6.25, q=3.74, v=15.44.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize
from scipy.special import digamma, gammaln, hyp2f1

FloatArray = NDArray[np.float64]

__all__ = [
    "BgNbdFit",
    "GammaGammaFit",
    "bg_nbd_log_likelihood",
    "conditional_expected_average_value",
    "customer_lifetime_value",
    "expected_purchases",
    "expected_purchases_population",
    "fit_bg_nbd",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "probability_alive",
    "simulate_bg_nbd",
    "simulate_gamma_gamma",
]


@dataclass(frozen=True)
class BgNbdFit:
    """Maximum-likelihood BG/NBD parameters and the total log-likelihood at them."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int
    converged: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma parameters (fitted on repeat customers only)."""

    p: float
    q: float
    v: float
    log_likelihood: float
    customers: int
    converged: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Parameters are searched as logarithms within e^-20 .. e^20 (2e-9 .. 5e8). Data that do not
#: follow the model (few customers, say) can pull the likelihood's maximum towards 0 or
#: infinity; the bound keeps such a fit finite, so its predictions stay numbers.
_LOG_BOUNDS = [(-20.0, 20.0)]


def _minimise(
    negative_ll: Callable[[FloatArray], tuple[float, FloatArray]], start: FloatArray
) -> Any:
    """Minimise a negative log-likelihood over log-parameters (value and gradient), within
    ``_LOG_BOUNDS``; L-BFGS-B, polished derivative-free in the rare case it does not converge.

    The optimiser probes extreme parameters (small data sets especially), where the terms
    overflow; those points score as infinitely bad, so the floating-point warnings they raise
    on the way carry no news."""
    bounds = _LOG_BOUNDS * len(start)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = optimize.minimize(
            negative_ll,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": 1e-13, "gtol": 1e-9},
        )
        if result.success:
            return result
        polished = optimize.minimize(
            lambda v: negative_ll(v)[0],
            result.x,
            method="Nelder-Mead",
            bounds=bounds,
            options={"xatol": 1e-8, "fatol": 1e-12},
        )
    return polished if polished.fun <= result.fun else result


def _arrays(*values: ArrayLike) -> list[FloatArray]:
    out = [np.asarray(v, dtype=np.float64).ravel() for v in values]
    n = out[0].shape[0]
    if any(a.shape[0] != n for a in out):
        raise ValueError("frequency, recency and T must have the same length")
    return out


def _validate_rft(x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> None:
    if x.size == 0:
        raise ValueError("no customers to fit")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(big_t))):
        raise ValueError("frequency, recency and T must be finite numbers")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(big_t <= 0):
        raise ValueError("frequency and recency must be >= 0 and T > 0")
    if np.any(t_x > big_t + 1e-9):
        raise ValueError("recency cannot exceed T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("customers without repeat purchases must have recency 0")


# --- BG/NBD -------------------------------------------------------------------------------


def bg_nbd_log_likelihood(
    r: float,
    alpha: float,
    a: float,
    b: float,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
) -> FloatArray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6), vectorised."""
    x, t_x, big_t = _arrays(frequency, recency, T)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    result: FloatArray = a1 + a2 + np.logaddexp(a3, a4)
    return result


def _bg_nbd_ll_and_gradient(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: FloatArray,
    t_x: FloatArray,
    big_t: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Per-customer log-likelihood and its gradient (rows r, alpha, a, b), analytically."""
    log_alpha_t = np.log(alpha + big_t)
    log_alpha_tx = np.log(alpha + t_x)
    b_x1 = np.maximum(b + x - 1.0, 1e-300)
    a3 = -(r + x) * log_alpha_t
    with np.errstate(divide="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(b_x1) - (r + x) * log_alpha_tx, -np.inf)
    lg_abx = gammaln(a + b + x)
    ll = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + x)
        - gammaln(b)
        - lg_abx
        + np.logaddexp(a3, a4)
    )
    both = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - both), np.exp(a4 - both)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * log_alpha_t - w4 * log_alpha_tx
    d_alpha = r / alpha - w3 * (r + x) / (alpha + big_t) - w4 * (r + x) / (alpha + t_x)
    dg_ab, dg_abx = digamma(a + b), digamma(a + b + x)
    d_a = dg_ab - dg_abx + w4 / a
    d_b = dg_ab + digamma(b + x) - digamma(b) - dg_abx - w4 / b_x1
    return ll, np.vstack([d_r, d_alpha, d_a, d_b])


def _compress(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Group identical customers; the likelihood is then summed with weights (same answer)."""
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(np.float64)


def fit_bg_nbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    initial: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
) -> BgNbdFit:
    """Fit BG/NBD by maximum likelihood on the log-parameters (L-BFGS-B, then Nelder-Mead
    polish). Raises ``ValueError`` for inconsistent data."""
    x, t_x, big_t = _arrays(frequency, recency, T)
    _validate_rft(x, t_x, big_t)
    (ux, ut, uT), weights = _compress(x, t_x, big_t)
    # Scale time so the optimiser works near 1 whatever the unit; alpha scales back exactly.
    scale = float(np.max(uT))
    ut_s, uT_s = ut / scale, uT / scale
    total = float(weights.sum())

    def negative_ll(log_params: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(log_params)
        ll, grad = _bg_nbd_ll_and_gradient(r, alpha, a, b, ux, ut_s, uT_s)
        value = -float(np.dot(weights, ll)) / total
        if not np.isfinite(value):
            return 1e300, np.zeros(4)
        # chain rule for the log-parameters: d/d(log theta) = theta * d/d(theta)
        gradient = -(grad @ weights) / total * np.array([r, alpha, a, b])
        return value, gradient

    start = np.log(np.asarray(initial, dtype=np.float64))
    start[1] -= np.log(scale)
    best = _minimise(negative_ll, start)
    r, alpha, a, b = (float(v) for v in np.exp(best.x))
    alpha *= scale
    ll = float(np.dot(weights, bg_nbd_log_likelihood(r, alpha, a, b, ux, ut, uT)))
    return BgNbdFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=ll,
        customers=int(x.size),
        converged=bool(best.success),
    )


def _params(fit: BgNbdFit) -> tuple[float, float, float, float]:
    return fit.r, fit.alpha, fit.a, fit.b


def probability_alive(
    fit: BgNbdFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
) -> FloatArray:
    """P(still active | x, t_x, T). Customers without repeat purchases are alive with 1."""
    r, alpha, a, b = _params(fit)
    x, t_x, big_t = _arrays(frequency, recency, T)
    log_ratio = (
        np.log(a)
        - np.log(np.maximum(b + x - 1.0, 1e-300))
        + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
    )
    out: FloatArray = np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700))), 1.0)
    return out


def expected_purchases(
    fit: BgNbdFit,
    t: float | ArrayLike,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
) -> FloatArray:
    """E[purchases in (T, T+t] | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10)."""
    r, alpha, a, b = _params(fit)
    x, t_x, big_t = _arrays(frequency, recency, T)
    t_arr = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
    z = t_arr / (alpha + big_t + t_arr)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1.0, z)
    first = (a + b + x - 1.0) / (a - 1.0)
    second = 1.0 - np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t_arr))) * hyp
    log_ratio = (
        np.log(a)
        - np.log(np.maximum(b + x - 1.0, 1e-300))
        + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
    )
    denominator = 1.0 + np.where(x > 0, np.exp(np.minimum(log_ratio, 700)), 0.0)
    out: FloatArray = first * second / denominator
    return out


def expected_purchases_population(fit: BgNbdFit, t: float | ArrayLike) -> FloatArray:
    """E[X(t)] for a new customer: expected repeat purchases in (0, t]."""
    r, alpha, a, b = _params(fit)
    t_arr = np.asarray(t, dtype=np.float64)
    hyp = hyp2f1(r, b, a + b - 1.0, t_arr / (alpha + t_arr))
    out: FloatArray = (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t_arr)) ** r * hyp)
    return out


# --- Gamma-Gamma --------------------------------------------------------------------------


def gamma_gamma_log_likelihood(
    p: float, q: float, v: float, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend ``m`` over ``x`` purchases."""
    x, m = _arrays(frequency, monetary_value)
    px = p * x
    out: FloatArray = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + v)
    )
    return out


def fit_gamma_gamma(
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    *,
    initial: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> GammaGammaFit:
    """Fit Gamma-Gamma by maximum likelihood on repeat customers (frequency > 0).

    ``monetary_value`` is each customer's mean spend over the repeat purchases.
    Raises ``ValueError`` when no customer has a repeat purchase with positive spend."""
    x, m = _arrays(frequency, monetary_value)
    keep = (x > 0) & (m > 0) & np.isfinite(m)
    x, m = x[keep], m[keep]
    if x.size == 0:
        raise ValueError("Gamma-Gamma needs customers with repeat purchases and positive spend")
    scale = float(np.mean(m))
    m_s = m / scale
    total = float(x.size)

    def negative_ll(log_params: FloatArray) -> tuple[float, FloatArray]:
        p, q, v = np.exp(log_params)
        value = -float(np.sum(gamma_gamma_log_likelihood(p, q, v, x, m_s))) / total
        if not np.isfinite(value):
            return 1e300, np.zeros(3)
        px = p * x
        log_xm_v = np.log(x * m_s + v)
        d_p = np.sum(x * (digamma(px + q) - digamma(px) + np.log(m_s) + np.log(x) - log_xm_v))
        d_q = np.sum(digamma(px + q) - digamma(q) + np.log(v) - log_xm_v)
        d_v = np.sum(q / v - (px + q) / (x * m_s + v))
        return value, -np.array([d_p * p, d_q * q, d_v * v]) / total

    best = _minimise(negative_ll, np.log(initial))
    p, q, v = (float(val) for val in np.exp(best.x))
    v *= scale  # v is a rate on the spend scale
    ll = float(np.sum(gamma_gamma_log_likelihood(p, q, v, x, m)))
    return GammaGammaFit(
        p=p,
        q=q,
        v=v,
        log_likelihood=ll,
        customers=int(x.size),
        converged=bool(best.success),
    )


def conditional_expected_average_value(
    fit: GammaGammaFit, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """E[spend per purchase | x, m] = (p (v + x m)) / (p x + q - 1); the population mean
    ``p v / (q - 1)`` for customers without repeat purchases."""
    x, m = _arrays(frequency, monetary_value)
    m = np.where(x > 0, np.nan_to_num(m), 0.0)
    out: FloatArray = fit.p * (fit.v + x * m) / (fit.p * x + fit.q - 1.0)
    return out


def customer_lifetime_value(
    bg: BgNbdFit,
    gg: GammaGammaFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon: int = 12,
    period: float = 30.0,
    discount_rate: float = 0.01,
) -> FloatArray:
    """Discounted CLV over ``horizon`` periods of ``period`` time units each (e.g. 12 months
    of 30 days): sum_i (E[purchases in period i] x E[spend]) / (1 + d)^i."""
    if horizon < 1 or period <= 0 or discount_rate < 0:
        raise ValueError("horizon >= 1, period > 0 and discount_rate >= 0 are required")
    x, t_x, big_t, m = _arrays(frequency, recency, T, monetary_value)
    spend = conditional_expected_average_value(gg, x, m)
    value = np.zeros_like(x)
    previous = np.zeros_like(x)
    for i in range(1, horizon + 1):  # periods, not customers: vectorised over customers
        cumulative = expected_purchases(bg, i * period, x, t_x, big_t)
        value += (cumulative - previous) * spend / (1.0 + discount_rate) ** i
        previous = cumulative
    return value


# --- simulation (tests, benchmarks, demo data) ----------------------------------------------


def simulate_bg_nbd(
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: ArrayLike,
    *,
    rng: np.random.Generator,
    max_rounds: int = 10_000,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Draw (frequency, recency, T) from the BG/NBD generative process: lambda ~ Gamma(r,
    alpha), p ~ Beta(a, b); purchases follow Poisson(lambda); after each purchase the customer
    drops out with probability p. Time 0 is the first purchase."""
    big_t = np.asarray(T, dtype=np.float64).ravel()
    n = big_t.size
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    clock = np.zeros(n)
    active = np.ones(n, dtype=bool)
    for _ in range(max_rounds):  # one round per purchase, vectorised over customers
        if not active.any():
            break
        with np.errstate(divide="ignore"):
            clock = clock + rng.exponential(1.0, n) / np.where(lam > 0, lam, np.inf)
        bought = active & (clock <= big_t)
        x += bought
        t_x = np.where(bought, clock, t_x)
        active = bought & (rng.random(n) >= drop)
    return x, t_x, big_t


def simulate_gamma_gamma(
    p: float, q: float, v: float, frequency: ArrayLike, *, rng: np.random.Generator
) -> FloatArray:
    """Mean spend per customer over ``frequency`` purchases: nu ~ Gamma(q, v), each spend
    ~ Gamma(p, nu); 0 for customers without purchases."""
    x = np.asarray(frequency, dtype=np.float64).ravel()
    nu = rng.gamma(q, 1.0 / v, x.size)
    total = rng.gamma(np.maximum(p * x, 1e-12), 1.0 / nu)
    out: FloatArray = np.where(x > 0, total / np.maximum(x, 1.0), 0.0)
    return out
