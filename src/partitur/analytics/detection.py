"""Anomaly detection on hourly volumes, respecting daily and weekly seasonality. Pure numpy.

The expected count of hour ``t`` is the median of the same hour of the week in the previous
``weeks`` weeks (a seasonal median baseline: it carries both the daily and the weekly cycle,
and one anomalous week does not move it). The residual is standardised like a Poisson count,
``u = (observed - expected) / sqrt(expected)``, and divided by the series' robust dispersion
``phi = 1.4826 * MAD(u)`` over the two weeks before the evaluated hours (at least 1), giving a
robust z-score. An hour is

* ``missing`` when nothing arrived although at least ``missing_min_expected`` was expected,
* ``rise`` when ``z >= threshold``, ``drop`` when ``z <= -threshold``,

and only when the observed or expected count reaches ``min_expected`` (very thin series are
too noisy to judge). Hours without ``min_weeks`` of history are not judged.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

WEEK = 168


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


def seasonal_baseline(counts: np.ndarray, weeks: int = 4, min_weeks: int = 3) -> np.ndarray:
    """Expected counts (S, T): the median of the same hour-of-week over the previous weeks;
    NaN where fewer than ``min_weeks`` earlier weeks exist."""
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


def robust_z(counts: np.ndarray, base: np.ndarray, start: int, hours: int) -> np.ndarray:
    """Robust z-scores (S, T) with a per-series dispersion from ``hours`` before ``start``."""
    counts = np.asarray(counts, dtype=float)
    u = (counts - base) / np.sqrt(np.maximum(base, 1.0))
    window = u[:, max(0, start - hours) : start]
    phi = np.ones(counts.shape[0])
    if window.shape[1]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(window, axis=1, keepdims=True)
            mad = np.nanmedian(np.abs(window - med), axis=1)
        enough = (~np.isnan(window)).sum(axis=1) >= 48
        phi = np.where(enough & ~np.isnan(mad), np.maximum(1.4826 * np.nan_to_num(mad), 1.0), 1.25)
    return np.asarray(u / phi[:, None], dtype=float)


def detect(
    counts: np.ndarray, evaluate_from: int, settings: DetectorSettings | None = None
) -> list[Detection]:
    """Judge hours ``evaluate_from..T-1`` of every series in ``counts`` (S series x T hours)."""
    cfg = settings or DetectorSettings()
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2:
        raise ValueError("counts must be a 2-d array: series x hours")
    base = seasonal_baseline(counts, cfg.weeks, cfg.min_weeks)
    z = robust_z(counts, base, evaluate_from, cfg.dispersion_hours)
    obs = counts[:, evaluate_from:]
    exp = base[:, evaluate_from:]
    zz = z[:, evaluate_from:]
    judged = ~np.isnan(exp) & (np.maximum(obs, np.nan_to_num(exp)) >= cfg.min_expected)
    missing = judged & (obs == 0) & (np.nan_to_num(exp) >= cfg.missing_min_expected)
    rise = judged & (zz >= cfg.threshold)
    drop = judged & (zz <= -cfg.threshold) & ~missing
    missing = missing | (judged & (obs == 0) & (zz <= -cfg.threshold))
    drop = drop & ~missing
    found: list[Detection] = []
    for kind, mask in (("missing", missing), ("rise", rise), ("drop", drop)):
        rows, cols = np.nonzero(mask)
        found.extend(
            Detection(
                int(r),
                int(c) + evaluate_from,
                kind,
                float(obs[r, c]),
                float(exp[r, c]),
                float(zz[r, c]),
            )
            for r, c in zip(rows, cols, strict=True)
        )
    found.sort(key=lambda d: (d.hour, d.series, d.kind))
    return found
