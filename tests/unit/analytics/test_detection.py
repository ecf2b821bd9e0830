"""Anomaly detection: hand-made cases and the evaluation on synthetic seasonal series."""

from __future__ import annotations

import numpy as np

from partitur.analytics.detection import WEEK, detect, seasonal_baseline


def flat(level: float, weeks: int = 5) -> np.ndarray:
    return np.full((1, weeks * WEEK), level)


def test_baseline_is_the_median_of_the_same_hour_in_earlier_weeks() -> None:
    counts = np.zeros((1, 4 * WEEK + 1))
    counts[0, [10, 10 + WEEK, 10 + 2 * WEEK]] = [100, 400, 130]
    base = seasonal_baseline(counts, weeks=4, min_weeks=3)
    assert base[0, 10 + 3 * WEEK] == 130  # median of 100, 400, 130
    assert np.isnan(base[0, 10 + 2 * WEEK])  # only two earlier weeks


def test_rise_drop_and_missing_hours_are_found() -> None:
    counts = flat(100.0)
    last = counts.shape[1] - 3
    counts[0, last:] = [300, 20, 0]
    found = detect(counts, last)
    assert [(d.kind, d.hour, d.observed, d.expected) for d in found] == [
        ("rise", last, 300, 100),
        ("drop", last + 1, 20, 100),
        ("missing", last + 2, 0, 100),
    ]
    # a flat series has no spread: dispersion 1.25 by default (no 48 earlier residuals)
    assert found[0].score > 4


def test_the_daily_and_weekly_cycle_is_not_an_anomaly() -> None:
    hours = np.arange(6 * WEEK)
    shape = (1 + 0.6 * np.sin(2 * np.pi * (hours % 24) / 24)) * np.where(
        (hours // 24) % 7 >= 5, 0.5, 1.0
    )
    counts = np.round(200 * shape)[None, :]
    assert detect(counts, 4 * WEEK) == []


def test_thin_series_are_not_judged() -> None:
    counts = flat(2.0)
    counts[0, -1] = 0
    assert detect(counts, counts.shape[1] - 1) == []


def test_evaluation_recall_and_false_alert_rate_on_synthetic_series() -> None:
    """40 series x 10 weeks of Poisson counts with daily and weekly seasonality; 200 injected
    anomalies (1-3 hours each) in the last 6 weeks: rises x2.5-4, drops to 0-25 %, outages."""
    rng = np.random.default_rng(20260105)
    series, weeks, judged_from = 40, 10, 4 * WEEK
    hours = np.arange(weeks * WEEK)
    daily = 1 + 0.6 * np.sin(2 * np.pi * ((hours % 24) - 9) / 24)
    weekly = np.where((hours // 24) % 7 >= 5, 0.7, 1.0)
    normal = rng.uniform(150, 600, series)[:, None] * daily * weekly
    rate = normal.copy()
    truth = np.zeros(rate.shape, dtype=bool)
    for _ in range(200):
        s, t, length = (
            rng.integers(series),
            rng.integers(judged_from, len(hours) - 3),
            rng.integers(1, 4),
        )
        factor = [rng.uniform(2.5, 4.0), rng.uniform(0.0, 0.25), 0.0][rng.integers(3)]
        rate[s, t : t + length] = normal[s, t : t + length] * factor
        truth[s, t : t + length] = True
    counts = rng.poisson(rate)
    flagged = np.zeros(rate.shape, dtype=bool)
    for d in detect(counts, judged_from):
        flagged[d.series, d.hour] = True
    judged = np.zeros(rate.shape, dtype=bool)
    judged[:, judged_from:] = True
    recall = (flagged & truth).sum() / truth.sum()
    clean_hours = (judged & ~truth).sum()
    false_per_1000 = (flagged & judged & ~truth).sum() / clean_hours * 1000
    assert recall >= 0.95
    assert false_per_1000 <= 1.0


def test_new_and_vanished_event_names() -> None:
    from datetime import UTC, datetime

    from partitur.analytics.detection import DetectorSettings
    from partitur.analytics.monitoring import HourlyVolume, volume_findings

    hours = 9 * 24
    counts = np.zeros((2, hours))
    counts[0, : hours - 24] = 3  # "Old": every hour for 8 days, then silent for 24 hours
    counts[1, hours - 1] = 1  # "New": first seen in the last hour
    first = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) // 3600
    volume = HourlyVolume([("web", "Old"), ("web", "New")], first, counts)
    found = volume_findings(volume, hours - 1, DetectorSettings())
    assert {(f.kind, f.event_name) for f in found} == {
        ("vanished_event", "Old"),
        ("new_event", "New"),
    }
    vanished = next(f for f in found if f.kind == "vanished_event")
    assert vanished.expected == 72  # 3 an hour: 72 a day
    assert vanished.hour == datetime(2026, 1, 9, 23, tzinfo=UTC)
