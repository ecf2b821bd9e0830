"""The data-quality monitor over the store: alerts stored, POSTed to a real webhook, listed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from partitur.access import service as access
from partitur.access.contracts import Scope
from partitur.analytics import service
from partitur.analytics.contracts import MonitorConfig
from partitur.context import Context
from partitur.core.actions import Actor
from tests.support.analytics import event_row, insert_events
from tests.support.webhook import WebhookReceiver

HOUR = timedelta(hours=1)


def seed_traffic(ctx: Context) -> None:
    """Three weeks of steady traffic, then a broken last hour (08:00-09:00 on Jan 5)."""
    ws, now = ctx.workspace_id, ctx.clock.now()
    last = now - HOUR
    rows = []
    hour = last - timedelta(weeks=3)
    while hour < last:
        rows += [
            event_row(ws, "src_web", "Page Viewed", hour + i * timedelta(minutes=2))
            for i in range(20)
        ]
        rows += [
            event_row(
                ws,
                "src_web",
                "Order Completed",
                hour + i * timedelta(minutes=5),
                properties={"total": 12.5, "currency": "EUR"},
            )
            for i in range(10)
        ]
        hour += HOUR
    # last hour: no page views at all, four times the orders with a changed schema, a new event
    rows += [
        event_row(
            ws,
            "src_web",
            "Order Completed",
            last + i * timedelta(seconds=80),
            properties={"total": "12.5", "coupon": "WINTER"},
        )
        for i in range(40)
    ]
    rows.append(event_row(ws, "src_web", "Signup", last + timedelta(minutes=3)))
    insert_events(ctx.store, rows)


def kinds(alerts) -> set[tuple[str, str | None, str | None]]:
    return {(a.kind, a.event_name, a.property) for a in alerts}


def test_monitor_finds_volume_and_schema_problems_and_calls_the_webhook(ctx: Context) -> None:
    seed_traffic(ctx)
    with WebhookReceiver() as hook:
        with ctx.store.begin() as conn:
            service.update_config(
                conn,
                workspace_id=ctx.workspace_id,
                config=MonitorConfig(webhook_url=hook.url),
                now=ctx.clock.now(),
                actor=Actor.system(ctx.workspace_id, "test"),
            )
        run = service.run_monitor(ctx, now=ctx.clock.now())
        assert kinds(run.alerts) == {
            ("missing", "Page Viewed", None),
            ("rise", "Order Completed", None),
            ("new_event", "Signup", None),
            ("new_property", "Order Completed", "coupon"),
            ("missing_property", "Order Completed", "currency"),
            ("type_change", "Order Completed", "total"),
        }
        missing = next(a for a in run.alerts if a.kind == "missing")
        assert (missing.observed, missing.expected) == (0, 20)
        assert missing.hour == ctx.clock.now() - HOUR
        change = next(a for a in run.alerts if a.kind == "type_change")
        assert change.detail == {"was": ["DOUBLE"], "now": ["VARCHAR"]}
        assert all(a.webhook_delivered_at is not None for a in run.alerts)
        posted = {(b["alert"]["kind"], b["alert"]["event_name"]) for b in hook.bodies}
        assert ("missing", "Page Viewed") in posted and len(hook.bodies) == 6
        # the same hour is judged once: a second run finds nothing new and sends nothing
        again = service.run_monitor(ctx, now=ctx.clock.now() + timedelta(minutes=5))
        assert again.alerts == [] and len(hook.bodies) == 6


# the engines are compared by the test above; the rest runs on SQLite to keep the suite fast
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_failed_webhook_deliveries_are_retried_on_the_next_run(ctx: Context) -> None:
    seed_traffic(ctx)
    with WebhookReceiver(status=500) as hook:
        with ctx.store.begin() as conn:
            service.update_config(
                conn,
                workspace_id=ctx.workspace_id,
                config=MonitorConfig(webhook_url=hook.url),
                now=ctx.clock.now(),
                actor=Actor.system(ctx.workspace_id, "test"),
            )
        run = service.run_monitor(ctx, now=ctx.clock.now())
        assert run.alerts and all(a.webhook_delivered_at is None for a in run.alerts)
        hook.status = 200
        service.run_monitor(ctx, now=ctx.clock.now() + timedelta(minutes=1))
    with ctx.store.read() as conn:
        stored = service.list_alerts(conn, workspace_id=ctx.workspace_id)
    assert all(a.webhook_delivered_at is not None for a in stored)
    assert len(hook.bodies) == 2 * len(run.alerts)


@SQLITE_ONLY
def test_alerts_are_listed_by_the_api_with_a_read_token(ctx: Context, client: TestClient) -> None:
    seed_traffic(ctx)
    with ctx.store.begin() as conn:
        write = access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="w",
            scopes=[Scope.write],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        ).token
        read = access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="r",
            scopes=[Scope.read],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        ).token
    ran = client.post("/api/analytics/monitor/run", headers={"Authorization": f"Bearer {write}"})
    assert ran.status_code == 200 and len(ran.json()["alerts"]) == 6
    listed = client.get(
        "/api/analytics/alerts?kind=missing", headers={"Authorization": f"Bearer {read}"}
    )
    assert listed.status_code == 200
    (alert,) = listed.json()["items"]
    assert (alert["event_name"], alert["observed"]) == ("Page Viewed", 0)
    csv_text = client.get(
        "/api/analytics/alerts?format=csv", headers={"Authorization": f"Bearer {read}"}
    ).text
    assert csv_text.splitlines()[0].startswith("id,kind,source_id,event_name")
    assert len(csv_text.splitlines()) == 7
    timeline = client.get(
        "/api/analytics/volume?event=Page%20Viewed&hours=48&format=png",
        headers={"Authorization": f"Bearer {read}"},
    )
    assert timeline.headers["content-type"] == "image/png"
    assert timeline.content.startswith(b"\x89PNG")
    refused = client.post("/api/analytics/monitor/run", headers={"Authorization": f"Bearer {read}"})
    assert refused.status_code == 403


@SQLITE_ONLY
def test_alert_events_reach_the_event_log(ctx: Context) -> None:
    seed_traffic(ctx)
    run = service.run_monitor(ctx, now=ctx.clock.now())
    assert run.alerts and all(a.event_emitted for a in run.alerts)
    from partitur.analytics.engine import open_engine

    with open_engine(ctx.store, ctx.workspace_id) as engine:
        rows = engine.rows(
            "SELECT json_extract_string(properties, '$.kind') AS kind FROM events "
            "WHERE event = 'Data Quality Alert' ORDER BY 1"
        )
    assert sorted(r["kind"] for r in rows) == sorted(a.kind for a in run.alerts)
    # the monitor does not judge its own source: a second pass finds nothing new
    later = service.run_monitor(ctx, now=ctx.clock.now() + timedelta(hours=1))
    assert not [a for a in later.alerts if a.event_name == "Data Quality Alert"]


@SQLITE_ONLY
def test_the_worker_loop_runs_the_monitor_once_per_completed_hour(ctx: Context) -> None:
    from partitur.worker import build_loops

    seed_traffic(ctx)
    (monitor,) = [loop for loop in build_loops(ctx) if loop.name == "analytics.monitor"]
    assert monitor.run_once(ctx.clock.now()) == 6
    assert monitor.run_once(ctx.clock.now()) == 0
