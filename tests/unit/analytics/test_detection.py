"""Anomaly detection: hand-made cases and the evaluation on synthetic seasonal series."""

from __future__ import annotations

import numpy as np
import pytest

from partitur.analytics.detection import (
    WEEK,
    DetectorSettings,
    detect,
    evaluate,
    judge,
    seasonal_baseline,
    synthetic_series,
)


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


@pytest.mark.parametrize("seed", [20260105, 7])
def test_recall_and_false_alert_rate_on_seeded_seasonal_series(seed: int) -> None:
    """40 series x 10 weeks of Poisson counts with daily and weekly cycles; in the last six
    weeks 200 injected spikes, drops and outages of 1-6 hours and 4 level shifts (whose first
    24 hours are anomalies, the new level normal after that). The bench runs many seeds."""
    result = evaluate(synthetic_series(seed))
    print(f"seed {seed}: recall {result['recall']:.3f}, false {result['false_per_1000']:.2f}/1000")
    assert result["recall"] >= 0.95
    assert result["false_per_1000"] <= 1.0


def test_a_past_outage_does_not_echo_a_week_later() -> None:
    rng = np.random.default_rng(3)
    hours = np.arange(8 * WEEK)
    rate = 300 * (1 + 0.5 * np.sin(2 * np.pi * (hours % 24) / 24))
    counts = rng.poisson(rate).astype(float)[None, :]
    outage = 5 * WEEK + 10
    counts[0, outage : outage + 4] = 0  # four hours without data
    found = detect(counts, 4 * WEEK)
    assert {(d.hour, d.kind) for d in found} == {(outage + k, "missing") for k in range(4)}
    # the same hours one and two weeks later are judged against the cleaned baseline
    judgement = judge(counts)
    for k in (1, 2):
        later = outage + k * WEEK
        assert judgement.expected[0, later] == pytest.approx(rate[later], rel=0.1)


def test_a_sustained_level_shift_alerts_for_a_day_and_is_then_the_new_normal() -> None:
    rng = np.random.default_rng(5)
    hours = np.arange(9 * WEEK)
    rate = 400 * (1 + 0.5 * np.sin(2 * np.pi * (hours % 24) / 24))
    shift = 5 * WEEK + 3
    rate[shift:] *= 0.5  # half the traffic from here on (a lost tracking source)
    counts = rng.poisson(rate).astype(float)[None, :]
    found = detect(counts, 4 * WEEK)
    hours_found = sorted(d.hour for d in found)
    settings = DetectorSettings()
    assert hours_found[0] == shift
    assert all(shift <= h < shift + settings.shift_hours for h in hours_found)
    assert len(hours_found) >= settings.shift_hours - 2
    expected = judge(counts).expected[0]
    later = slice(shift + 2 * settings.shift_hours, len(hours))
    assert np.allclose(expected[later], rate[later], rtol=0.15)


def test_new_and_vanished_event_names() -> None:
    from datetime import UTC, datetime

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
