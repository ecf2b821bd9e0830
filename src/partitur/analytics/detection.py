"""Anomaly detection on hourly volumes, respecting daily and weekly seasonality. Pure numpy.

The expected count of hour ``t`` is the median of the same hour of the week in the previous
``weeks`` weeks of the *cleaned* series (a seasonal median baseline: it carries both the daily
and the weekly cycle). The residual is standardised like a Poisson count,
``u = (observed - expected) / sqrt(expected)``, and divided by the series' robust dispersion
``phi = 1.4826 * MAD(u)`` over the unflagged hours of the two weeks before (at least 1), giving a
robust z-score. An hour is

* ``missing`` when nothing arrived although at least ``missing_min_expected`` was expected,
* ``rise`` when ``z >= threshold``, ``drop`` when ``z <= -threshold``,

and only when the observed or expected count reaches ``min_expected`` (very thin series are
too noisy to judge). Hours without ``min_weeks`` of history are not judged.

The hours are judged in time order, and what was judged feeds the next baselines:

* **a flagged hour does not enter later baselines**: the cleaned series holds its expected
  value instead, so an outage or a spike does not echo as a false alert at the same hour one
  to four weeks later;
* **a confirmed level shift is adopted**: when the last ``shift_hours`` judged hours of a series
  were all away from the baseline in the same direction (starting with a flagged hour; flagged
  or at least half the threshold away), the series has moved to a new level. Its level
  factor becomes the median ratio observed / expected of those hours, later baselines are
  scaled by it, and the cleaned history holds those hours at the new level. So a sustained
  change alerts for ``shift_hours`` hours (24 by default: the documented delay) and is normal
  from then on, instead of alerting for weeks and then being absorbed unannounced.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

WEEK = 168
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Detection:
    series: int
    hour: int
    kind: str
    observed: float
    expected: float
    score: float


@dataclass(frozen=True)
class DetectorSettings:
    threshold: float = 4.0
    weeks: int = 4
    min_weeks: int = 3
    min_expected: float = 5.0
    missing_min_expected: float = 15.0
    dispersion_hours: int = 2 * WEEK
    #: consecutive same-direction flagged hours that confirm a level shift (the adaptation delay)
    shift_hours: int = 24


def seasonal_baseline(counts: np.ndarray, weeks: int = 4, min_weeks: int = 3) -> FloatArray:
    """Expected counts (S, T): the median of the same hour-of-week over the previous weeks;
    NaN where fewer than ``min_weeks`` earlier weeks exist. This is the plain (uncleaned)
    baseline; ``detect`` computes the cleaned one hour by hour."""
    counts = np.asarray(counts, dtype=float)
    s, t = counts.shape
    lagged = np.full((weeks, s, t), np.nan)
    for k in range(1, weeks + 1):
        lag = k * WEEK
        if lag < t:
            lagged[k - 1, :, lag:] = counts[:, : t - lag]
    valid = (~np.isnan(lagged)).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN hours: no history yet
        base = np.nanmedian(lagged, axis=0)
    return np.asarray(np.where(valid >= min_weeks, base, np.nan), dtype=float)


@dataclass
class Judgement:
    """Per series and hour: the cleaned baseline, the z-score and the verdict (0 none,
    1 rise, -1 drop, -2 missing); NaN / 0 where an hour was not judged."""

    expected: FloatArray
    z: FloatArray
    verdict: NDArray[np.int8]


def judge(counts: np.ndarray, settings: DetectorSettings | None = None) -> Judgement:
    """Judge every hour of ``counts`` (S series x T hours, NaN = unknown) that has enough
    history, in time order, with the cleaned baseline and level-shift adoption described in
    the module docstring. Vectorised over series; one step per hour."""
    cfg = settings or DetectorSettings()
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2:
        raise ValueError("counts must be a 2-d array: series x hours")
    n_series, n_hours = counts.shape
    # the cleaned history in level-free units (observed / level, or expected / level)
    clean = np.full((n_series, n_hours), np.nan)
    level = np.ones(n_series)
    expected = np.full((n_series, n_hours), np.nan)
    z_all = np.full((n_series, n_hours), np.nan)
    verdict = np.zeros((n_series, n_hours), dtype=np.int8)
    residual = np.full((n_series, n_hours), np.nan)  # u of unflagged judged hours
    run = np.zeros(n_series, dtype=np.int64)  # signed run of same-direction flags
    phi = np.full(n_series, 1.25)
    lags = np.arange(1, cfg.weeks + 1) * WEEK
    for t in range(n_hours):
        obs = counts[:, t]
        if t % 24 == 0 and t > 0:
            phi = _dispersion(residual[:, max(0, t - cfg.dispersion_hours) : t])
        past = t - lags
        past = past[past >= 0]
        history = clean[:, past] if past.size else np.full((n_series, 0), np.nan)
        enough = (~np.isnan(history)).sum(axis=1) >= cfg.min_weeks
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            base = np.where(enough, np.nanmedian(history, axis=1), np.nan) * level
        known = ~np.isnan(obs)
        judged = known & ~np.isnan(base)
        judged &= np.maximum(np.nan_to_num(obs), np.nan_to_num(base)) >= cfg.min_expected
        u = (obs - base) / np.sqrt(np.maximum(base, 1.0))
        z = u / phi
        missing = judged & (obs == 0) & (np.nan_to_num(base) >= cfg.missing_min_expected)
        missing |= judged & (obs == 0) & (z <= -cfg.threshold)
        rise = judged & (z >= cfg.threshold)
        drop = judged & (z <= -cfg.threshold) & ~missing
        flagged = rise | drop | missing
        expected[:, t] = base
        z_all[:, t] = np.where(judged, z, np.nan)
        verdict[:, t] = np.where(rise, 1, np.where(drop, -1, np.where(missing, -2, 0)))
        residual[:, t] = np.where(judged & ~flagged, u, np.nan)
        # the cleaned value: what was seen, unless it was flagged (then what was expected)
        clean[:, t] = np.where(flagged, base / level, np.where(known, obs / level, np.nan))
        # a run of hours away from the baseline in one direction: flagged hours and hours at
        # least half the threshold away keep it going (a halved night-time volume is not
        # always beyond the threshold, and must not restart the count)
        leaning = np.where(z >= cfg.threshold / 2, 1, np.where(z <= -cfg.threshold / 2, -1, 0))
        direction = np.where(rise, 1, np.where(drop | missing, -1, leaning))
        same = (direction != 0) & (np.sign(run) == direction)
        run = np.where(same, run + direction, np.where(flagged, direction, 0)).astype(np.int64)
        run = np.where(judged, run, 0)
        confirmed = np.abs(run) >= cfg.shift_hours
        if confirmed.any():
            _adopt_level(counts, expected, clean, level, run, confirmed, t)
            run[confirmed] = 0
    return Judgement(expected=expected, z=z_all, verdict=verdict)


def _dispersion(window: FloatArray) -> FloatArray:
    """phi per series from the unflagged residuals of the window (1.25 with < 48 of them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(window, axis=1, keepdims=True)
        mad = np.nanmedian(np.abs(window - med), axis=1)
    enough = (~np.isnan(window)).sum(axis=1) >= 48
    out: FloatArray = np.where(
        enough & ~np.isnan(mad), np.maximum(1.4826 * np.nan_to_num(mad), 1.0), 1.25
    )
    return out


def _adopt_level(
    counts: FloatArray,
    expected: FloatArray,
    clean: FloatArray,
    level: FloatArray,
    run: NDArray[np.int64],
    confirmed: NDArray[np.bool_],
    t: int,
) -> None:
    """The series in ``confirmed`` moved to a new level over the last ``|run|`` hours: scale
    their level by the median observed / expected ratio and rewrite those hours of the cleaned
    history at the new level (in place)."""
    for s in np.flatnonzero(confirmed):
        span = slice(t - abs(int(run[s])) + 1, t + 1)
        base = expected[s, span]
        ratio = float(np.nanmedian(np.nan_to_num(counts[s, span]) / np.maximum(base, 1e-9)))
        # an outage that lasts a day is a level of (almost) nothing: keep a floor so the
        # baseline can see the series come back
        level[s] = max(level[s] * ratio, 1e-3)
        clean[s, span] = np.nan_to_num(counts[s, span]) / level[s]


def detect(
    counts: np.ndarray, evaluate_from: int, settings: DetectorSettings | None = None
) -> list[Detection]:
    """Judge the hours of every series in ``counts`` (S series x T hours) in time order and
    return the findings of hours ``evaluate_from..T-1`` (the earlier hours only shape the
    cleaned baseline)."""
    cfg = settings or DetectorSettings()
    result = judge(counts, cfg)
    counts = np.asarray(counts, dtype=float)
    found: list[Detection] = []
    kinds = {1: "rise", -1: "drop", -2: "missing"}
    rows, cols = np.nonzero(result.verdict[:, evaluate_from:])
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        hour = c + evaluate_from
        found.append(
            Detection(
                int(r),
                hour,
                kinds[int(result.verdict[r, hour])],
                float(counts[r, hour]),
                float(result.expected[r, hour]),
                float(result.z[r, hour]),
            )
        )
    order = {"missing": 0, "rise": 1, "drop": 2}
    found.sort(key=lambda d: (d.hour, d.series, order[d.kind]))
    return found


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticSeries:
    """Hourly counts with injected anomalies and the truth: which hours are anomalous."""

    counts: FloatArray
    truth: NDArray[np.bool_]
    #: hours that are neither anomalous nor normal (a level shift after its adaptation delay
    #: until the baseline has four weeks of the new level is judged normal; nothing is excluded
    #: unless listed here)
    ignore: NDArray[np.bool_]
    judged_from: int


def synthetic_series(
    seed: int,
    *,
    series: int = 40,
    weeks: int = 10,
    anomalies: int = 200,
    level_shifts: int = 4,
    shift_hours: int = 24,
) -> SyntheticSeries:
    """Poisson counts (150-600 an hour on average) with a daily and a weekly cycle; in the last
    six weeks ``anomalies`` injected spikes (x2.5-4), drops (to 0-25 %) and outages (0), each
    1-6 hours long, and ``level_shifts`` sustained shifts (x0.5 or x1.8 to the end). The truth
    marks the injected hours and the first ``shift_hours`` of each shift (after those the new
    level is normal: the detector's documented adaptation delay)."""
    rng = np.random.default_rng(seed)
    judged_from = 4 * WEEK
    hours = np.arange(weeks * WEEK)
    daily = 1 + 0.6 * np.sin(2 * np.pi * ((hours % 24) - 9) / 24)
    weekly = np.where((hours // 24) % 7 >= 5, 0.7, 1.0)
    normal = rng.uniform(150, 600, series)[:, None] * daily * weekly
    truth = np.zeros(normal.shape, dtype=bool)
    shifted = rng.choice(series, size=min(level_shifts, series), replace=False)
    for s in shifted.tolist():
        start = int(rng.integers(judged_from, len(hours) - 2 * WEEK))
        normal[s, start:] *= rng.choice([0.5, 1.8])
        truth[s, start : start + shift_hours] = True
    rate = normal.copy()
    for _ in range(anomalies):
        s = int(rng.integers(series))
        length = int(rng.integers(1, 7))
        t = int(rng.integers(judged_from, len(hours) - length))
        factor = [rng.uniform(2.5, 4.0), rng.uniform(0.0, 0.25), 0.0][int(rng.integers(3))]
        rate[s, t : t + length] = normal[s, t : t + length] * factor
        truth[s, t : t + length] = True
    counts = rng.poisson(rate).astype(float)
    return SyntheticSeries(
        counts=counts,
        truth=truth,
        ignore=np.zeros(normal.shape, dtype=bool),
        judged_from=judged_from,
    )


def evaluate(data: SyntheticSeries, settings: DetectorSettings | None = None) -> dict[str, float]:
    """Recall over the anomalous hours and false alerts per 1,000 normal hours (judged part)."""
    flagged = np.zeros(data.counts.shape, dtype=bool)
    for d in detect(data.counts, data.judged_from, settings):
        flagged[d.series, d.hour] = True
    window = np.zeros(data.counts.shape, dtype=bool)
    window[:, data.judged_from :] = True
    window &= ~data.ignore
    truth = data.truth & window
    normal = window & ~data.truth
    return {
        "anomalous_hours": float(truth.sum()),
        "normal_hours": float(normal.sum()),
        "recall": float((flagged & truth).sum() / max(truth.sum(), 1)),
        "false_per_1000": float((flagged & normal).sum() / max(normal.sum(), 1) * 1000),
    }


def robust_z_plain(
    counts: np.ndarray, evaluate_from: int, settings: DetectorSettings | None = None
) -> NDArray[np.bool_]:
    """Flags (S, T) of the plain detector, for comparison in the bench: the uncleaned seasonal
    median and one dispersion from the two weeks before ``evaluate_from``."""
    cfg = settings or DetectorSettings()
    counts = np.asarray(counts, dtype=float)
    base = seasonal_baseline(counts, cfg.weeks, cfg.min_weeks)
    u = (counts - base) / np.sqrt(np.maximum(base, 1.0))
    phi = _dispersion(u[:, max(0, evaluate_from - cfg.dispersion_hours) : evaluate_from])
    z = u / phi[:, None]
    judged = ~np.isnan(base) & (np.maximum(counts, np.nan_to_num(base)) >= cfg.min_expected)
    flagged = judged & ((np.abs(z) >= cfg.threshold) | ((counts == 0) & (base >= 15)))
    flagged[:, :evaluate_from] = False
    out: NDArray[np.bool_] = flagged
    return out
