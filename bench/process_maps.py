"""Process map on a user's pandas frame against pm4py (the reference tool), same run.

    python bench/process_maps.py          # 600,000 events / 100,000 cases, string case ids
    python bench/process_maps.py --smoke  # 6,000 events / 1,000 cases, for CI

The log is a pandas DataFrame the way users and pm4py users hand it over: string case ids,
string activities, timezone-aware timestamps (microseconds, so no two events of a case tie).
partitur's ``process_map`` returns the directly-follows graph with counts and durations, the
start and end activities and the top variants; pm4py needs ``discover_dfg``,
``discover_performance_dfg`` and ``get_variants`` for the same figures, and is given the log
sorted by case and time (its start/end activities follow the frame's row order). Every count
must be identical; the target is partitur >= 5x faster than pm4py.

pm4py is AGPL: it is a bench-only reference in the ``bench`` extra (``make bench`` installs it),
never a dependency of partitur itself.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report, at_least

from partitur.analytics.paths import END, START, process_map

ACTIVITIES = np.array(
    ["register", "verify", "browse", "cart", "checkout", "pay", "ship", "review"], dtype=object
)


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def make_log(events: int, cases: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    case = rng.integers(0, cases, events)
    return pd.DataFrame(
        {
            "case_id": pd.Series([f"case-{c:06d}" for c in case.tolist()]),
            "activity": ACTIVITIES[rng.integers(0, len(ACTIVITIES), events)],
            "timestamp": pd.Timestamp("2026-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 7 * 86_400 * 1_000_000, events), unit="us"),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small size (CI)")
    args = parser.parse_args()
    events, cases = (6_000, 1_000) if args.smoke else (600_000, 100_000)
    try:
        import pm4py
    except ImportError:
        print("pm4py is not installed: pip install -e '.[bench]' (make bench does)")
        sys.exit(1)
    log = make_log(events, cases)
    keys = {"case_id_key": "case_id", "activity_key": "activity", "timestamp_key": "timestamp"}
    ours_s, pm = best_of(lambda: process_map(log, top_variants=10), 3)
    sorted_log = log.sort_values(["case_id", "timestamp"], kind="stable").reset_index(drop=True)

    def reference() -> tuple[Any, Any, Any, Any, Any]:
        dfg, starts, ends = pm4py.discover_dfg(sorted_log, **keys)
        # (performance DFG, start activities, end activities)
        performance = pm4py.discover_performance_dfg(sorted_log, **keys)
        variants = pm4py.get_variants(sorted_log, **keys)
        return dfg, starts, ends, performance, variants

    ref_s, (dfg, starts, ends, performance, variants) = best_of(reference, 1 if events > 1e5 else 3)
    edges = {(e.source, e.target): e for e in pm.edges}
    inner = {k: e.count for k, e in edges.items() if START not in k and END not in k}
    checks = {
        "directly-follows counts": inner == {tuple(k): int(v) for k, v in dfg.items()},
        "start activities": {t: e.count for (s, t), e in edges.items() if s == START}
        == {k: int(v) for k, v in starts.items()},
        "end activities": {s: e.count for (s, t), e in edges.items() if t == END}
        == {k: int(v) for k, v in ends.items()},
        "mean durations": all(
            abs(float(edges[k].mean_seconds or 0) - float(performance[0][k]["mean"])) < 1e-6
            for k in inner
        ),
        "variants": pm.cases == sum(int(v) for v in variants.values())
        and [v.cases for v in pm.variants]
        == sorted((int(v) for v in variants.values()), reverse=True)[: len(pm.variants)],
        "events": pm.events == len(log),
    }
    ratio = ref_s / ours_s
    print(f"process map, {events:,} events / {cases:,} cases (string case ids, pandas)")
    for name, ok in checks.items():
        print(f"  identical {name}: {'yes' if ok else 'NO'}")
    report = Report("process_maps", smoke=args.smoke)
    report.figure(
        f"process map, {events:,} events / {cases:,} cases (best of 3)",
        ours_s * 1000,
        "ms",
        baseline=ref_s * 1000,
        baseline_name="pm4py dfg + performance dfg + variants",
    )
    report.figure("speed over pm4py", ratio, "x", target=at_least(5))
    report.figure(
        "figures identical to pm4py's",
        sum(checks.values()),
        f"of {len(checks)} checks",
        target=at_least(len(checks), smoke=True),
    )
    report.finish()


if __name__ == "__main__":
    main()
