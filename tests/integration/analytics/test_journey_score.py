"""The journey score of a real journey from its own data (SQLite, PostgreSQL): conversion
against the goal's target, the top-2-box share of its customers' survey answers, the share
without a support contact and of texts that are not negative; with coverage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.journeys import service as journeys
from tests.integration.journeys.test_shell import event, publish, pump
from tests.support.journeys import ensure_profiles

WELCOME: dict[str, Any] = {
    "key": "welcome-score",
    "name": "Welcome",
    "entry": {"type": "manual"},
    "goal": {"event": "Order Completed", "target_rate": 0.5},
    "start": "wait",
    "nodes": [{"id": "wait", "type": "wait", "duration": "P3D"}],
}


def test_a_journey_is_scored_from_its_own_data(
    ctx: Context, clock: VirtualClock, client: TestClient, read_headers: dict[str, str]
) -> None:
    publish(ctx, WELCOME)
    people = [f"p{i}" for i in range(20)]
    with ctx.store.begin() as conn:
        ensure_profiles(conn, workspace_id=ctx.workspace_id, profile_ids=people, now=clock.now())
        journeys.enrol(
            conn,
            workspace_id=ctx.workspace_id,
            key="welcome-score",
            profile_ids=people,
            now=clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    pump(ctx)
    clock.advance(timedelta(hours=1))
    for pid in people[:5]:  # 25 % convert: half the target of 50 %
        event(ctx, pid, "Order Completed")
    for i, pid in enumerate(people[:12]):  # 8 of 12 answers in the top two boxes
        event(ctx, pid, "CSAT Submitted", score=5 if i < 8 else 2)
    for pid in people[:4]:  # 4 of 20 needed support
        event(ctx, pid, "Ticket Created", text="Die Lieferung ist kaputt, sehr ärgerlich!")
    event(ctx, "outsider", "CSAT Submitted", score=1)  # not in the journey: does not count
    pump(ctx)
    got = client.get("/api/analytics/journeys/welcome-score/score", headers=read_headers)
    assert got.status_code == 200, got.text
    body = got.json()
    parts = {c["name"]: c for c in body["components"]}
    assert parts["conversion"]["value"] == pytest.approx(50.0)
    assert parts["satisfaction"]["value"] == pytest.approx(100 * 8 / 12)
    assert parts["satisfaction"]["observations"] == 12
    assert parts["effort"]["value"] == pytest.approx(80.0)
    # four angry tickets: too few texts to count, and said so
    assert not parts["sentiment"]["measured"] and "needed" in parts["sentiment"]["note"]
    assert body["coverage"] == pytest.approx(0.85)
    expected = (0.4 * 50 + 0.3 * 100 * 8 / 12 + 0.15 * 80) / 0.85
    assert body["score"] == pytest.approx(expected)
