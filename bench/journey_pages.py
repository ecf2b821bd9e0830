"""Benchmark of the API behind the Studio's Journeys pages over a large SQLite store.

    python bench/journey_pages.py            # 10 journeys, 500,000 instances, 1,000,000 transitions
    python bench/journey_pages.py --smoke    # 10 journeys, 10,000 instances (< 30 s)

Journeys are published through the journeys service; their instances and transitions are
written in bulk straight into the journey tables (an arrangement: running half a million
instances through the runtime is what bench/journeys.py measures). The store is then served as
``make run`` serves it (``partitur serve``, analytics reusing a copy of the SQLite file for
15 s) and the two requests the pages wait for are fetched over HTTP with an API token: the
list's headlines (``/api/analytics/journeys/kpis``) and a journey's report
(``.../{key}/report``); each opens one DuckDB engine and copies the journey tables into it once
(``AnalyticsEngine.materialize``), so the KPIs of 10 journeys cost about one scan of the store.
The baseline, measured in the same run, is the KPI API of ONE journey
(``GET /api/analytics/journeys/{id}/kpis``). Caches matter: the first request after the server
starts makes the analytics copy of the store, later ones reuse it; so each request has a cold
figure (its first fetch; the list comes first and pays for the copy) and a warm one (the best
of three more). Targets on the warm figures (full size, 2 shared cores): each < 3 s; most of it
is DuckDB reading the SQLite tables once. bench/studio.py measures the pages themselves in
Chromium on the demo workspace.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _httpload import start_serve, stop  # noqa: E402
from _report import Report, below  # noqa: E402

from partitur.access import service as access  # noqa: E402
from partitur.access.contracts import Scope  # noqa: E402
from partitur.context import Context  # noqa: E402
from partitur.core.actions import Actor  # noqa: E402
from partitur.core.clock import VirtualClock  # noqa: E402
from partitur.journeys import service  # noqa: E402
from partitur.journeys.tables import journey_instances, journey_transitions  # noqa: E402
from partitur.settings import Settings  # noqa: E402

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


def fetch(client: httpx.Client, path: str, **kwargs: Any) -> float:
    """Seconds for one GET, which must answer 200."""
    start = time.perf_counter()
    answer = client.get(path, **kwargs)
    seconds = time.perf_counter() - start
    if answer.status_code != 200:
        raise SystemExit(f"{path}: HTTP {answer.status_code}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (< 30 s)")
    args = parser.parse_args()
    instances = 10_000 if args.smoke else 500_000
    report = Report("journey_pages", smoke=args.smoke)
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(database_url=f"sqlite:///{home}/partitur.db", var_dir=Path(home))
        ctx = Context.open(settings, clock=VirtualClock(NOW))
        try:
            started = time.perf_counter()
            journeys = arrange(ctx, instances)
            print(
                f"partitur journey pages API bench ({'smoke' if args.smoke else 'full'}):"
                f" {JOURNEYS} journeys,"
                f" {instances:,} instances, {2 * instances:,} transitions"
                f" (arranged in {time.perf_counter() - started:.1f} s); load average "
                f"{os.getloadavg()[0]:.2f}"
            )
            with ctx.store.begin() as conn:
                token = access.create_token(
                    conn,
                    workspace_id=ctx.workspace_id,
                    name="bench",
                    scopes=[Scope.read],
                    now=NOW,
                    actor=Actor.system(ctx.workspace_id, "bench"),
                ).token
        finally:
            ctx.close()
        env = {
            "PARTITUR_DATABASE_URL": settings.database_url,
            "PARTITUR_VAR_DIR": home,
            # as served by `make run`: analytics reuse a copy of the SQLite store for 15 s
            "PARTITUR_ANALYTICS_SNAPSHOT_SECONDS": "15",
        }
        server, port = start_serve(env)
        try:
            auth = {"Authorization": f"Bearer {token}"}
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", timeout=120, headers=auth
            ) as client:
                requests = [
                    ("Journeys list: KPIs of 10 journeys", "/api/analytics/journeys/kpis"),
                    (
                        "Journey page: report (nodes, series, split)",
                        "/api/analytics/journeys/journey-0/report",
                    ),
                ]
                cold = {path: fetch(client, path) for _, path in requests}
                api = f"/api/analytics/journeys/{journeys[0][0]}/kpis"
                baseline = min(fetch(client, api) for _ in range(3))
                for name, path in requests:
                    warm = min(fetch(client, path) for _ in range(3))
                    report.figure(
                        f"{name}, warm",
                        warm * 1000,
                        "ms",
                        baseline=baseline * 1000,
                        baseline_name="KPI API of one journey",
                        target=below(3000),
                    )
                    report.figure(
                        f"{name}, cold",
                        cold[path] * 1000,
                        "ms",
                        baseline=warm * 1000,
                        baseline_name="warm",
                    )
        finally:
            stop(server, "partitur serve")
    report.finish()


if __name__ == "__main__":
    main()
