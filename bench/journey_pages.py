"""Benchmark of the API behind the Studio's Journeys pages over a large SQLite store.

    python bench/journey_pages.py            # 10 journeys, 500,000 instances, 1,000,000 transitions
    python bench/journey_pages.py --smoke    # 10 journeys, 10,000 instances (< 30 s)

Journeys are published through the journeys service; their instances and transitions are
written in bulk straight into the journey tables (an arrangement: running half a million
instances through the runtime is what bench/journeys.py measures). The two requests the pages
wait for are timed over HTTP (TestClient) and printed with a baseline measured in the same run:
the KPI API of ONE journey (``GET /api/analytics/journeys/{id}/kpis``), which opens one DuckDB
engine and queries the store directly. The list's headlines (``/api/analytics/journeys/kpis``)
and a journey's report (``.../{key}/report``) open one engine each and copy the journey tables
into it once (``AnalyticsEngine.materialize``), so the KPIs of 10 journeys cost about one scan
of the store, not one per journey and query. The store is served as ``make run`` serves it
(analytics reuse a copy of the SQLite file for 15 s). Targets (full size, 2 shared cores):
each < 3 s; most of it is DuckDB reading the SQLite tables once. bench/studio.py measures the
pages themselves in Chromium on the demo workspace.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# starlette's TestClient suggests its httpx successor on import; httpx is what partitur uses
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402

from partitur.app import create_app  # noqa: E402
from partitur.context import Context  # noqa: E402
from partitur.core.actions import Actor  # noqa: E402
from partitur.core.clock import VirtualClock  # noqa: E402
from partitur.journeys import service  # noqa: E402
from partitur.journeys.tables import journey_instances, journey_transitions  # noqa: E402
from partitur.settings import Settings  # noqa: E402
from partitur.workspaces import service as workspaces  # noqa: E402
from partitur.workspaces.contracts import Scope  # noqa: E402

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
JOURNEYS = 10
CHUNK = 20_000


def document(n: int) -> dict[str, Any]:
    return {
        "key": f"journey-{n}",
        "name": f"Journey {n}",
        "entry": {"type": "manual"},
        "goal": {"event": "Order Completed"},
        "start": "ab",
        "nodes": [
            {
                "id": "ab",
                "type": "split",
                "variants": [
                    {"key": "a", "weight": 1, "next": "wait_a"},
                    {"key": "b", "weight": 1, "next": "wait_b"},
                ],
            },
            {"id": "wait_a", "type": "wait", "duration": "P3D", "next": "done"},
            {"id": "wait_b", "type": "wait", "duration": "P5D", "next": "done"},
            {"id": "done", "type": "exit", "reason": "completed"},
        ],
    }


def arrange(ctx: Context, instances: int) -> list[tuple[str, str]]:
    """Publish the journeys and write ``instances`` instances (two transitions each) spread
    over them and over 60 days: a quarter converted, a tenth exited, the rest active."""
    ws = ctx.workspace_id
    journeys = []
    with ctx.store.begin() as conn:
        for n in range(JOURNEYS):
            service.save_draft(
                conn,
                workspace_id=ws,
                document=document(n),
                now=NOW,
                actor=Actor.system(ws, "bench"),
            )
            published = service.publish(
                conn, workspace_id=ws, key=f"journey-{n}", now=NOW, actor=Actor.system(ws, "bench")
            )
            journeys.append((published.journey_id, published.key))
    for start in range(0, instances, CHUNK):
        rows, moves = [], []
        for i in range(start, min(start + CHUNK, instances)):
            journey_id = journeys[i % JOURNEYS][0]
            entered = NOW - timedelta(minutes=(i * 7919) % (60 * 24 * 60))
            variant = "a" if (i // JOURNEYS) % 2 else "b"
            status = "converted" if i % 4 == 0 else "exited" if i % 10 == 1 else "active"
            ended = entered + timedelta(hours=6) if status != "active" else None
            iid = f"jin_bench{i:010d}"
            rows.append(
                {
                    "id": iid,
                    "workspace_id": ws,
                    "journey_id": journey_id,
                    "version": 1,
                    "profile_id": f"prf_bench{i % (instances // 3 + 1):08d}",
                    "status": status,
                    "entered_at": entered,
                    "ended_at": ended,
                    "end_reason": "exit criterion: Unsubscribed" if status == "exited" else None,
                    "current_node": f"wait_{variant}",
                    "converted_at": ended if status == "converted" else None,
                    "revenue": "40" if status == "converted" else None,
                    "split_variants": {"ab": variant},
                    "state": {"waiting": None, "visits": {}, "jumps": {}, "tokens": 0},
                    "rev": 1,
                    "is_test": False,
                }
            )
            for node, before in (("ab", None), (f"wait_{variant}", "ab")):
                moves.append(
                    {
                        "workspace_id": ws,
                        "instance_id": iid,
                        "journey_id": journey_id,
                        "version": 1,
                        "node_id": node,
                        "from_node": before,
                        "at": entered,
                        "reason": "bench",
                    }
                )
        with ctx.store.begin() as conn:
            conn.execute(journey_instances.insert(), rows)
            conn.execute(journey_transitions.insert(), moves)
    return journeys


def timed(client: TestClient, path: str, repeat: int, **kwargs: Any) -> float:
    """Best of ``repeat`` GETs (seconds); each must answer 200."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        answer = client.get(path, **kwargs)
        best = min(best, time.perf_counter() - start)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: HTTP {answer.status_code}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (< 30 s)")
    args = parser.parse_args()
    instances = 10_000 if args.smoke else 500_000
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            database_url=f"sqlite:///{home}/partitur.db",
            var_dir=Path(home) / "var",
            sqlite_synchronous="NORMAL",
            # as served by `make run`: analytics reuse a copy of the SQLite store for 15 s
            analytics_snapshot_seconds=15,
        )
        ctx = Context.open(settings, clock=VirtualClock(NOW))
        try:
            started = time.perf_counter()
            journeys = arrange(ctx, instances)
            print(
                f"partitur journey pages API bench ({'smoke' if args.smoke else 'full'}):"
                f" {JOURNEYS} journeys,"
                f" {instances:,} instances, {2 * instances:,} transitions"
                f" (arranged in {time.perf_counter() - started:.1f} s)"
            )
            with ctx.store.begin() as conn:
                token = workspaces.create_token(
                    conn,
                    workspace_id=ctx.workspace_id,
                    name="bench",
                    scopes=[Scope.read],
                    now=NOW,
                    actor=Actor.system(ctx.workspace_id, "bench"),
                ).token
            with TestClient(create_app(settings, ctx=ctx)) as client:
                headers = {"Authorization": f"Bearer {token}"}
                baseline = timed(
                    client, f"/api/analytics/journeys/{journeys[0][0]}/kpis", 3, headers=headers
                )
                figures = [
                    ("Journeys list: KPIs of 10 journeys", "/api/analytics/journeys/kpis", 3.0),
                    (
                        "Journey page: report (nodes, series, split)",
                        "/api/analytics/journeys/journey-0/report",
                        3.0,
                    ),
                ]
                missed = False
                print(f"{'baseline: KPI API of one journey':<44} {baseline * 1000:9.1f} ms")
                for name, path, target in figures:
                    seconds = timed(client, path, 3, headers=headers)
                    ok = args.smoke or seconds < target
                    missed |= not ok
                    verdict = (
                        ""
                        if args.smoke
                        else f"   target < {target:g} s: " + ("ok" if ok else "MISSED")
                    )
                    print(
                        f"{name:<44} {seconds * 1000:9.1f} ms   ratio to baseline"
                        f" {seconds / baseline:5.1f}x{verdict}"
                    )
        finally:
            ctx.close()
    if missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
