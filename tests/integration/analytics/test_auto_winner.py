"""Journey split experiments through the real runtime and store (SQLite, PostgreSQL): the
auto-winner waits for closed windows and the minimum runtime, counts a held-out control group's
conversions, leaves test profiles and other versions out, routes everyone to the winner and
records why; the API and CLI show the same report."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from partitur.analytics import service as analytics
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.journeys import service as journeys
from partitur.journeys.runtime import assign_variant
from tests.integration.analytics.test_api_and_cli import run_cli
from tests.integration.journeys.test_shell import event, history, profile, publish, pump
from tests.support.journeys import add_events, ensure_profiles

AB: dict[str, Any] = {
    "key": "ab",
    "name": "AB",
    "entry": {"type": "manual"},
    "re_entry": {"policy": "when_not_active"},
    "goal": {"event": "Order Completed"},
    "start": "split",
    "nodes": [
        {
            "id": "split",
            "type": "split",
            "control_weight": 1,
            "variants": [{"key": "better", "weight": 1, "next": "wait_b"}],
            "auto_winner": {
                "min_sample": 40,
                "window": "P2D",
                "min_runtime": "P1D",
                "guardrails": [{"event": "Unsubscribed", "max_increase": 0.05}],
            },
        },
        {"id": "wait_b", "type": "wait", "duration": "P7D"},
    ],
}


def enrol(ctx: Context, ids: list[str]) -> None:
    with ctx.store.begin() as conn:
        ensure_profiles(conn, workspace_id=ctx.workspace_id, profile_ids=ids, now=ctx.clock.now())
        journeys.enrol(
            conn,
            workspace_id=ctx.workspace_id,
            key="ab",
            profile_ids=ids,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    pump(ctx)


def arm_of(profile_id: str) -> str:
    return assign_variant(profile_id, "ab", "split", [("better", 1)], 1)


def test_the_auto_winner_decides_on_closed_windows_and_routes_everyone(
    ctx: Context, clock: VirtualClock
) -> None:
    publish(ctx, AB)
    ids = [f"p{i}" for i in range(240)]
    enrol(ctx, ids)
    control = [p for p in ids if arm_of(p) == "control"]
    better = [p for p in ids if arm_of(p) == "better"]
    # the control group ended at the split, yet its orders within the window count
    assert {i.status for p in control for i in history(ctx, p)} == {"completed"}
    t0 = clock.now()
    rows = [(p, "Order Completed", t0 + timedelta(hours=5)) for p in control[: len(control) // 10]]
    rows += [
        (p, "Order Completed", t0 + timedelta(hours=5)) for p in better[: len(better) * 6 // 10]
    ]
    # orders after the window are not conversions of this test
    rows += [(p, "Order Completed", t0 + timedelta(days=3)) for p in control[len(control) // 10 :]]
    with ctx.store.begin() as conn:
        add_events(conn, workspace_id=ctx.workspace_id, rows=rows)

    clock.advance(timedelta(days=1, hours=1))
    assert analytics.decide_experiments(ctx, now=clock.now()) == 0  # no window has closed
    (running,) = analytics.experiment_reports(
        ctx, workspace_id=ctx.workspace_id, journey="ab", now=clock.now()
    )
    assert running.decision.status == "collecting"
    assert sum(a.exposed for a in running.arms) == 240 and sum(a.closed for a in running.arms) == 0

    clock.advance(timedelta(days=2))
    assert analytics.decide_experiments(ctx, now=clock.now()) == 1
    (decided,) = analytics.experiment_reports(
        ctx, workspace_id=ctx.workspace_id, journey="ab", now=clock.now()
    )
    arms = {a.arm: a for a in decided.arms}
    assert (arms["control"].closed, arms["control"].conversions) == (
        len(control),
        len(control) // 10,
    )
    assert (arms["better"].conversions, arms["better"].weight) == (len(better) * 6 // 10, 0.5)
    assert decided.control == "control" and arms["control"].control
    assert decided.decision.status == "winner" and decided.decision.arm == "better"
    assert decided.decision.decided_at == clock.now()
    assert decided.comparisons[0].significant and decided.comparisons[0].ci_low > 0
    assert analytics.decide_experiments(ctx, now=clock.now()) == 0  # decided once

    # new profiles the hash would hold back now take the winner; they do not join the test
    later = [p for p in (f"n{i}" for i in range(60)) if arm_of(p) == "control"][:10]
    enrol(ctx, later)
    assert {history(ctx, p)[0].split_variants["split"] for p in later} == {"better"}
    clock.advance(timedelta(days=3))
    (after,) = analytics.experiment_reports(
        ctx, workspace_id=ctx.workspace_id, journey="ab", now=clock.now()
    )
    assert sum(a.exposed for a in after.arms) == 240 and not after.srm.mismatch


def test_test_profiles_and_other_versions_do_not_count(ctx: Context, clock: VirtualClock) -> None:
    publish(ctx, AB)
    profile(ctx, "tester", is_test=True)
    enrol(ctx, ["p1", "p2", "tester"])
    second = {**AB, "name": "AB 2"}
    publish(ctx, second)
    enrol(ctx, ["q1"])
    event(ctx, "p1", "Order Completed")
    clock.advance(timedelta(days=3))
    with ctx.store.read() as conn:
        assert [
            e.version
            for e in journeys.split_experiments(conn, workspace_id=ctx.workspace_id, key="ab")
        ] == [2]
    (v1,) = analytics.experiment_reports(
        ctx, workspace_id=ctx.workspace_id, journey="ab", version=1, now=clock.now()
    )
    assert sum(a.exposed for a in v1.arms) == 2
    (v2,) = analytics.experiment_reports(
        ctx, workspace_id=ctx.workspace_id, journey="ab", now=clock.now()
    )
    assert (v2.version, sum(a.exposed for a in v2.arms)) == (2, 1)


def test_api_and_cli_show_the_report(
    ctx: Context, clock: VirtualClock, client: TestClient, read_headers: dict[str, str]
) -> None:
    publish(ctx, AB)
    enrol(ctx, [f"p{i}" for i in range(20)])
    clock.advance(timedelta(days=3))
    response = client.get("/api/analytics/journeys/ab/experiments/split", headers=read_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["control"] == "control" and body["decision"]["status"] == "collecting"
    assert [a["arm"] for a in body["arms"]] == ["control", "better"]
    assert "mSPRT" in body["method"]
    listing = client.get("/api/analytics/journeys/ab/experiments", headers=read_headers)
    assert [r["split_node"] for r in listing.json()] == ["split"]
    missing = client.get("/api/analytics/journeys/ab/experiments/nope", headers=read_headers)
    assert missing.status_code == 404


def test_the_cli_prints_the_report(sqlite_url: str, tmp_path: Path) -> None:
    from partitur.settings import Settings

    ctx = Context.open(Settings(database_url=sqlite_url, sqlite_synchronous="NORMAL"))
    publish(ctx, AB)
    enrol(ctx, [f"p{i}" for i in range(20)])
    ctx.close()
    out = run_cli("analytics", "experiment", "ab", "--json", url=sqlite_url, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (report,) = json.loads(out.stdout)
    assert report["split_node"] == "split" and report["decision"]["status"] == "collecting"
    table = run_cli("analytics", "experiment", "ab", "split", url=sqlite_url, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "mSPRT" in table.stdout and "collecting" in table.stdout
