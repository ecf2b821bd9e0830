"""Analytics benchmarks: funnel, process map and journey KPIs on generated data.

    python bench/analytics.py          # issue sizes (10M events; 1M events, 100k cases; 1M inst.)
    python bench/analytics.py --smoke    # 1/100 of that, for CI (< 20 s)

Data is generated in DuckDB (no Python loops). Each figure is printed with a baseline measured in
the same run: a plain DuckDB scan (COUNT(*) with a filter) of the same table, and the ratio.
Caches matter here (DuckDB's buffers, compiled plans), so each query has a cold figure (its
first run) and a warm one (the best of the runs after it). Targets, on the warm figures: funnel
< 2 s, process map < 1 s, KPI summary < 200 ms (full sizes only).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report, below

from partitur.analytics.contracts import FunnelSpec
from partitur.analytics.engine import AnalyticsEngine
from partitur.analytics.funnels import funnel
from partitur.analytics.kpis import journey_kpis
from partitur.analytics.paths import process_map

EVENTS = (
    "['Page Viewed','Product Viewed','Cart Viewed','Checkout Started','Order Completed',"
    "'Search','Login','Logout','Email Opened','Support Ticket']"
)


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best of ``repeat`` runs (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def cold_and_warm(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """The first run's seconds (cold), the best of ``repeat`` more (warm), the last result."""
    start = time.perf_counter()
    fn()
    cold = time.perf_counter() - start
    warm, result = timed(fn, repeat)
    return cold, warm, result


def record(
    report: Report, name: str, cold: float, warm: float, baseline: float, target: float | None
) -> None:
    report.figure(
        f"{name}, warm",
        warm * 1000,
        "ms",
        baseline=baseline * 1000,
        baseline_name="plain filtered scan",
        target=below(target * 1000) if target is not None else None,
    )
    report.figure(f"{name}, cold", cold * 1000, "ms", baseline=warm * 1000, baseline_name="warm")


def bench_funnel(report: Report, n_events: int) -> None:
    engine = AnalyticsEngine(None, "")
    users = max(1, n_events // 10)
    engine.query(f"""
        CREATE TABLE events AS
        SELECT 'u' || (i % {users}) AS profile_id, NULL::VARCHAR AS user_id,
               NULL::VARCHAR AS anonymous_id,
               {EVENTS}[1 + (hash(i) % 10)::INTEGER] AS event,
               TIMESTAMP '2026-01-01' + to_seconds((hash(i * 7 + 1) % (30 * 86400))::BIGINT)
                   AS "timestamp",
               NULL::JSON AS properties
        FROM range({n_events}) t(i)""")
    engine.available.add("events")
    spec = FunnelSpec.model_validate(
        {
            "steps": [
                {"event": "Product Viewed"},
                {"event": "Checkout Started"},
                {"event": "Order Completed"},
            ],
            "window_seconds": 7 * 86400,
        }
    )
    base, _ = timed(
        lambda: engine.query(
            "SELECT count(*) FROM events WHERE event = 'Order Completed'"
        ).fetchone()
    )
    cold, warm, result = cold_and_warm(lambda: funnel(engine, spec))
    record(report, f"3-step funnel, {n_events:,} events", cold, warm, base, 2.0)
    print(f"  steps {[s.count for s in result.steps]}")
    strict = spec.model_copy(update={"order": "strict"})
    cold, warm, _ = cold_and_warm(lambda: funnel(engine, strict), 1)
    record(report, f"3-step strict funnel, {n_events:,} events", cold, warm, base, None)
    engine.close()


def bench_process_map(report: Report, n_events: int, n_cases: int) -> None:
    engine = AnalyticsEngine(None, "")
    table = engine.query(f"""
        SELECT (i % {n_cases}) AS case_id,
               ['register','verify','browse','cart','checkout','pay','ship','review']
                   [1 + (hash(i) % 8)::INTEGER] AS activity,
               TIMESTAMP '2026-01-01' + to_seconds((hash(i * 3 + 1) % (7 * 86400))::BIGINT)
                   AS "timestamp"
        FROM range({n_events}) t(i)""").to_arrow_table()
    engine.con.register("log", table)
    base, _ = timed(
        lambda: engine.query("SELECT count(*) FROM log WHERE activity = 'pay'").fetchone()
    )
    cold, warm, pm = cold_and_warm(
        lambda: process_map(table, case="case_id", activity="activity", timestamp="timestamp")
    )
    name = f"process map + variants, {n_events:,} events / {n_cases:,} cases"
    record(report, name, cold, warm, base, 1.0)
    print(f"  {len(pm.edges)} edges, top variant {pm.variants[0].cases} cases")
    engine.close()


def bench_kpis(report: Report, n_instances: int) -> None:
    engine = AnalyticsEngine(None, "")
    engine.query(f"""
        CREATE TABLE journey_instances AS
        SELECT 'ji' || i AS id, 'ws' AS workspace_id, 'j1' AS journey_id,
               1 + (i % 2) AS version, 'p' || (i % {max(1, n_instances // 2)}) AS profile_id,
               ['active','completed','converted','exited'][1 + (hash(i) % 4)::INTEGER] AS status,
               TIMESTAMP '2026-01-01' + to_seconds((hash(i + 11) % (30 * 86400))::BIGINT)
                   AS entered_at,
               NULL::TIMESTAMP AS ended_at,
               ['timeout','unsubscribed','goal_elsewhere'][1 + (hash(i + 5) % 3)::INTEGER]
                   AS end_reason,
               'node' || (hash(i + 3) % 12) AS current_node,
               NULL::TIMESTAMP AS converted_at, (hash(i) % 100)::DOUBLE AS revenue,
               NULL::JSON AS split_variants
        FROM range({n_instances}) t(i)""")
    engine.query("""UPDATE journey_instances SET converted_at = entered_at
                    + to_seconds((hash(id) % 86400)::BIGINT) WHERE status = 'converted'""")
    engine.query("""UPDATE journey_instances SET ended_at = entered_at
                    + to_seconds((hash(id) % 172800)::BIGINT)
                    WHERE status IN ('completed', 'exited')""")
    engine.available.add("journey_instances")
    base, _ = timed(
        lambda: engine.query(
            "SELECT count(*) FROM journey_instances WHERE journey_id = 'j1'"
        ).fetchone(),
        5,
    )
    # with ``now``: inactivity is skipped (no transitions table) but the success forecast runs
    now = datetime(2026, 2, 5, tzinfo=UTC)
    cold, warm, k = cold_and_warm(lambda: journey_kpis(engine, journey_id="j1", now=now), 5)
    record(report, f"journey KPI summary, {n_instances:,} instances", cold, warm, base, 0.2)
    print(
        f"  entered {k.entered:,}, converted {k.converted:,}, "
        f"median time to goal {k.median_time_to_goal_seconds:,.0f} s, "
        f"expected conversions of active instances {k.expected_conversions:,.0f}"
    )
    engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (< 20 s)")
    args = parser.parse_args()
    scale = 100 if args.smoke else 1
    report = Report("analytics", smoke=args.smoke)
    print(f"partitur analytics bench ({'smoke' if args.smoke else 'full'} sizes)")
    started = time.perf_counter()
    bench_funnel(report, 10_000_000 // scale)
    bench_process_map(report, 1_000_000 // scale, 100_000 // scale)
    bench_kpis(report, 1_000_000 // scale)
    print(f"total {time.perf_counter() - started:.1f} s")
    report.finish()


if __name__ == "__main__":
    main()
