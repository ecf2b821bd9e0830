"""Anomaly monitor evaluation over many seeds: recall and false alerts per 1,000 normal hours.

    python bench/anomalies.py            # 100 seeds
    python bench/anomalies.py --smoke    # 5 seeds, for CI

Each seed generates 40 seasonal hourly Poisson series x 10 weeks with 200 injected spikes, drops
and outages (1-6 hours) and 4 level shifts (``detection.synthetic_series``); the detector judges
the last six weeks. The baseline in the same run is the plain seasonal median (no cleaning of
flagged hours, no level adoption) with the same thresholds. Targets: recall >= 0.95 and <= 1
false alert per 1,000 normal hours, on every seed's average and on the pooled hours.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report, Target, at_least

from partitur.analytics.detection import (
    DetectorSettings,
    SyntheticSeries,
    evaluate,
    robust_z_plain,
    synthetic_series,
)


def plain(data: SyntheticSeries, settings: DetectorSettings) -> dict[str, float]:
    """The earlier detector: flagged hours stay in the baseline, shifts are never adopted."""
    flagged = robust_z_plain(data.counts, data.judged_from, settings)
    window = np.zeros(data.counts.shape, dtype=bool)
    window[:, data.judged_from :] = True
    truth = data.truth & window
    normal = window & ~data.truth
    return {
        "recall": float((flagged & truth).sum() / max(truth.sum(), 1)),
        "false_per_1000": float((flagged & normal).sum() / max(normal.sum(), 1) * 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="5 seeds (CI)")
    parser.add_argument("--seeds", type=int, default=100)
    args = parser.parse_args()
    seeds = 5 if args.smoke else args.seeds
    settings = DetectorSettings()
    started = time.perf_counter()
    rows, base_rows = [], []
    hits = truth = false = normal = 0.0
    for seed in range(seeds):
        data = synthetic_series(seed)
        result = evaluate(data, settings)
        rows.append(result)
        base_rows.append(plain(data, settings))
        hits += result["recall"] * result["anomalous_hours"]
        truth += result["anomalous_hours"]
        false += result["false_per_1000"] * result["normal_hours"] / 1000
        normal += result["normal_hours"]
    recall = np.array([r["recall"] for r in rows])
    fpr = np.array([r["false_per_1000"] for r in rows])
    b_recall = np.array([r["recall"] for r in base_rows])
    b_fpr = np.array([r["false_per_1000"] for r in base_rows])
    print(f"anomaly monitor over seeds 0..{seeds - 1} ({time.perf_counter() - started:.1f} s)")
    report = Report("anomalies", smoke=args.smoke)
    report.figure(
        f"recall, pooled over {seeds} seeds (cleaned baseline + level adoption)",
        hits / truth,
        "",
        baseline=float(b_recall.mean()),
        baseline_name="plain seasonal median",
        target=at_least(0.95, smoke=True),
        note=f"lowest seed {recall.min():.4f}",
    )
    report.figure(
        "false alerts per 1,000 normal hours, pooled",
        false / normal * 1000,
        "",
        baseline=float(b_fpr.mean()),
        baseline_name="plain seasonal median",
        target=Target("<=", 1.0, smoke=True),
        note=f"highest seed {fpr.max():.3f}, seeds above 1: {(fpr > 1).sum()}",
    )
    report.finish()


if __name__ == "__main__":
    main()
