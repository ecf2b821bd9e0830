"""Analytics through the HTTP API (read scope) and the CLI, and the Parquet snapshot."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from partitur.analytics.contracts import FunnelSpec
from partitur.analytics.engine import AnalyticsEngine
from partitur.analytics.experiments import compare
from partitur.analytics.funnels import funnel
from partitur.context import Context
from partitur.core.actions import Actor
from tests.support.analytics import (
    D,
    event_row,
    insert_events,
    insert_messages,
    seed_journey,
    sent_message,
)


def shop_events(ctx: Context) -> None:
    ws = ctx.workspace_id
    rows = []
    for i, actor in enumerate(["a", "b", "c", "d"]):
        t = D + timedelta(hours=i)
        rows.append(
            event_row(
                ws,
                "src_web",
                "Product Viewed",
                t,
                actor=actor,
                properties={"plan": "pro" if i % 2 else "free"},
            )
        )
        if i < 3:
            rows.append(
                event_row(ws, "src_web", "Checkout Started", t + timedelta(minutes=5), actor=actor)
            )
        if i < 1:
            rows.append(
                event_row(
                    ws,
                    "src_web",
                    "Order Completed",
                    t + timedelta(minutes=9),
                    actor=actor,
                    properties={"revenue": 40},
                )
            )
    insert_events(ctx.store, rows)


STEPS = {
    "steps": [
        {"event": "Product Viewed"},
        {"event": "Checkout Started"},
        {"event": "Order Completed"},
    ]
}


def test_funnel_over_the_store_with_json_csv_and_chart(
    ctx: Context, client: TestClient, read_headers: dict[str, str]
) -> None:
    shop_events(ctx)
    body = {**STEPS, "breakdown": "plan"}
    got = client.post("/api/analytics/funnels", json=body, headers=read_headers)
    assert got.status_code == 200, got.text
    assert [s["count"] for s in got.json()["steps"]] == [4, 3, 1]
    assert got.json()["steps"][1]["median_seconds_from_previous"] == 300
    groups = {g["value"]: [s["count"] for s in g["steps"]] for g in got.json()["groups"]}
    assert groups == {"free": [2, 2, 1], "pro": [2, 1, 0]}
    table = client.post("/api/analytics/funnels?format=csv", json=STEPS, headers=read_headers)
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [(r["label"], r["count"]) for r in rows] == [
        ("Product Viewed", "4"),
        ("Checkout Started", "3"),
        ("Order Completed", "1"),
    ]
    svg = client.post("/api/analytics/funnels?format=svg", json=STEPS, headers=read_headers)
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    bad = client.post(
        "/api/analytics/funnels", json={"steps": [{"event": "x"}]}, headers=read_headers
    )
    assert bad.status_code == 422


def test_journey_kpis_process_map_and_charts_by_api(
    ctx: Context, client: TestClient, read_headers: dict[str, str]
) -> None:
    seed_journey(ctx.store, ctx.workspace_id)
    got = client.get("/api/analytics/journeys/j1/kpis?version=1", headers=read_headers)
    assert got.status_code == 200, got.text
    assert got.json()["summary"]["entered"] == 8
    assert {n["node_id"] for n in got.json()["nodes"]} >= {"email1", "wait1", "sms1"}
    png = client.get("/api/analytics/journeys/j1/timeseries?format=png", headers=read_headers)
    assert png.content.startswith(b"\x89PNG")
    pm = client.get("/api/analytics/journeys/j1/process-map?format=png", headers=read_headers)
    assert pm.headers["content-type"] == "image/png"
    assert client.get("/api/analytics/journeys/j1/kpis").status_code == 401


def test_compare_and_scores_by_api(client: TestClient, read_headers: dict[str, str]) -> None:
    got = client.post(
        "/api/analytics/experiments/compare",
        headers=read_headers,
        json={
            "control": {"conversions": 100, "n": 1000},
            "variant": {"conversions": 130, "n": 1000},
        },
    )
    assert got.json()["relative_lift"] == pytest.approx(0.3)
    bad = client.post(
        "/api/analytics/experiments/compare",
        headers=read_headers,
        json={"control": {"conversions": 2, "n": 1}, "variant": {"conversions": 1, "n": 10}},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "control.conversions"
    nps = client.post(
        "/api/analytics/scores",
        headers=read_headers,
        json={"scale": "nps", "responses": [10, 9, 0, 7]},
    )
    assert nps.json()["nps"] == 25.0


def test_parquet_snapshot_is_incremental_and_read_with_the_store(
    ctx: Context, tmp_path: Path
) -> None:
    shop_events(ctx)
    snap = tmp_path / "snap"
    engine = AnalyticsEngine(ctx.store, ctx.workspace_id)
    first = engine.snapshot(snap)
    assert first["rows"] == 8
    insert_events(
        ctx.store,
        [
            event_row(
                ctx.workspace_id,
                "src_web",
                "Order Completed",
                D + timedelta(hours=2, minutes=9),
                actor="c",
            )
        ],
    )
    second = engine.snapshot(snap)
    assert second["rows"] == 1 and second["from_seq"] == first["to_seq"] + 1
    assert engine.snapshot(snap)["rows"] == 0
    engine.close()
    # events after the last snapshot are read from the store
    insert_events(
        ctx.store,
        [
            event_row(
                ctx.workspace_id,
                "src_web",
                "Order Completed",
                D + timedelta(hours=1, minutes=9),
                actor="b",
            )
        ],
    )
    with_snapshot = AnalyticsEngine(ctx.store, ctx.workspace_id, snapshot_dir=snap)
    result = funnel(with_snapshot, FunnelSpec.model_validate(STEPS))
    assert [s.count for s in result.steps] == [4, 3, 3]
    assert len(list((snap / "events").glob("*.parquet"))) == 2
    with_snapshot.close()


def run_cli(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "partitur", *args],
        capture_output=True,
        text=True,
        env={"PARTITUR_DATABASE_URL": url, "PATH": ""},
        timeout=90,
        check=False,
        cwd=cwd,
    )


def test_cli_prints_json_and_writes_csv_and_charts(sqlite_url: str, tmp_path: Path) -> None:
    from partitur.settings import Settings

    ctx = Context.open(Settings(database_url=sqlite_url, sqlite_synchronous="NORMAL"))
    shop_events(ctx)
    ctx.close()
    out = run_cli(
        "analytics",
        "funnel",
        "--step",
        "Product Viewed",
        "--step",
        "Checkout Started",
        "--json",
        "--csv",
        "f.csv",
        "--chart",
        "f.png",
        url=sqlite_url,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert [s["count"] for s in json.loads(out.stdout)["steps"]] == [4, 3]
    assert (tmp_path / "f.csv").read_text().startswith("group,label,count")
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    compared = run_cli(
        "analytics",
        "compare",
        "--control",
        "100/1000",
        "--variant",
        "130/1000",
        "--json",
        url=sqlite_url,
        cwd=tmp_path,
    )
    figures = json.loads(compared.stdout)
    expected = compare(control=(100, 1000), variant=(130, 1000))
    assert figures["p_value"] == pytest.approx(expected.p_value)
    assert figures["difference_ci_low"] < 0 < figures["difference_ci_high"]
    missing = run_cli("analytics", "kpis", "nope", url=sqlite_url, cwd=tmp_path)
    if missing.returncode != 0:  # the journeys domain may not be migrated on this branch yet
        assert missing.stderr.strip().count("\n") == 0 and "Traceback" not in missing.stderr
    bad = run_cli(
        "analytics", "compare", "--control", "x", "--variant", "1/2", url=sqlite_url, cwd=tmp_path
    )
    assert bad.returncode == 2 and "CONVERSIONS/N" in bad.stderr


def test_attribution_over_sent_messages_and_conversion_events(
    ctx: Context, client: TestClient, read_headers: dict[str, str]
) -> None:
    seed_journey(ctx.store, ctx.workspace_id)
    ws = ctx.workspace_id
    insert_events(
        ctx.store,
        [
            event_row(
                ws,
                "src_web",
                "Order Completed",
                D + timedelta(hours=1),
                actor="p1",
                properties={"revenue": 100},
            ),
            event_row(
                ws,
                "src_web",
                "Order Completed",
                D + timedelta(hours=7),
                actor="p4",
                properties={"revenue": 20},
            ),
        ],
    )
    got = client.post(
        "/api/analytics/attribution",
        headers=read_headers,
        json={"conversion_event": "Order Completed"},
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["conversions"], body["revenue"]) == (2, 120.0)
    last = {c["channel"]: (c["conversions"], c["revenue"]) for c in body["models"]["last_touch"]}
    assert last == {"email": (1, 100), "sms": (1, 20)}
    # paths: p1 email->conv, p4 sms->conv, p2/p3 email->null, p5 sms->null: P(conv) = 0.4,
    # 0.2 without either channel, so both removal effects are 0.5 and credit is shared evenly
    assert body["removal_effects"] == pytest.approx({"email": 0.5, "sms": 0.5})
    markov = {c["channel"]: c["conversions"] for c in body["models"]["markov"]}
    assert markov == pytest.approx({"email": 1.0, "sms": 1.0})


def test_journey_analytics_take_the_journey_key_as_well_as_its_id(
    ctx: Context, client: TestClient, read_headers: dict[str, str]
) -> None:
    from partitur.journeys import service as journeys
    from tests.integration.journeys.test_shell import CART, profile, publish

    publish(ctx, CART)
    for pid in ("a", "b"):
        profile(ctx, pid)
    with ctx.store.begin() as conn:
        journeys.enrol(
            conn,
            workspace_id=ctx.workspace_id,
            key="cart",
            profile_ids=["a", "b"],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
        journey_id = journeys.get_journey(conn, workspace_id=ctx.workspace_id, key="cart").id
    by_key = client.get("/api/analytics/journeys/cart/kpis", headers=read_headers).json()
    by_id = client.get(f"/api/analytics/journeys/{journey_id}/kpis", headers=read_headers).json()
    assert by_key["summary"]["entered"] == by_id["summary"]["entered"] == 2
    points = client.get("/api/analytics/journeys/cart/timeseries", headers=read_headers).json()
    assert sum(p["entered"] for p in points) == 2
    paths = client.get("/api/analytics/journeys/cart/process-map", headers=read_headers).json()
    assert paths["cases"] == 2


def test_only_customer_touches_in_the_window_get_credit(
    ctx: Context, client: TestClient, read_headers: dict[str, str]
) -> None:
    ws = ctx.workspace_id
    insert_messages(
        ctx.store,
        [
            sent_message(ws, "p1", "email", D),
            # the agent task, the CRM webhook and the owner notice never reach the customer
            sent_message(ws, "p1", "agent_task", D + timedelta(hours=1)),
            sent_message(ws, "p1", "webhook", D + timedelta(hours=2)),
            sent_message(
                ws, "p1", "email", D + timedelta(hours=3), payload={"builtin": "owner_notice"}
            ),
            sent_message(ws, "p2", "sms", D + timedelta(days=2)),
            sent_message(ws, "p3", "sms", D + timedelta(days=2)),
        ],
    )
    insert_events(
        ctx.store,
        [
            event_row(ws, "src", "Order Completed", D + timedelta(hours=4), actor="p1",
                      properties={"revenue": 50}),
            # after the window: p3's path is neither a conversion nor a non-converting path
            event_row(ws, "src", "Order Completed", D + timedelta(days=6), actor="p3"),
        ],
    )  # fmt: skip
    got = client.post(
        "/api/analytics/attribution",
        headers=read_headers,
        json={
            "conversion_event": "Order Completed",
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-01-05T00:00:00Z",
        },
    ).json()
    last = {c["channel"]: c["conversions"] for c in got["models"]["last_touch"]}
    assert last == {"email": 1.0}
    assert (got["converting_paths"], got["non_converting_paths"]) == (1, 1)  # p1; p2
    assert set(got["removal_effects"]) == {"email", "sms"}
