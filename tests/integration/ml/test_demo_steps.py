"""The ml and decisions demo steps put CLV, sentiment, churn scores and tiers on profiles, and
running them twice changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from partitur.context import Context
from partitur.decisions import demo as decisions_demo
from partitur.ml import demo as ml_demo
from partitur.ml import ports, registry
from tests.support.ml_data import add_events, add_profile, synthetic_customers


class Report:
    def __init__(self) -> None:
        self.extras: dict[str, Any] = {}
        self.notes: list[str] = []

    def add(self, label: str, value: Any) -> None:
        self.extras[label] = value

    def note(self, text: str) -> None:
        self.notes.append(text)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_demo_steps_fill_profiles_and_are_idempotent(ctx: Context) -> None:
    now = ctx.clock.now()
    rows = synthetic_customers(170, now=now, seed=9)
    rows.append(
        (
            "c00001",
            "Ticket Created",
            now - timedelta(days=3),
            {"text": "Die Lieferung ist nie angekommen, das ist eine Frechheit!"},
        )
    )
    with ctx.store.begin() as conn:
        for pid in sorted({r[0] for r in rows}):
            add_profile(conn, workspace_id=ctx.workspace_id, profile_id=pid, now=now)
        add_events(conn, workspace_id=ctx.workspace_id, rows=rows)
    steps = ml_demo.DEMO_STEPS + decisions_demo.DEMO_STEPS
    first = Report()
    for step in steps:
        step(ctx, first)
    assert first.extras["CLV profiles"] > 100
    assert first.extras.get("churn scores", 0) > 50, first.notes
    assert first.extras["profiles with a value tier"] == 170
    assert first.extras["offers"] == 3
    with ctx.store.read() as conn:
        snap = ports.get_profile_snapshot(conn, workspace_id=ctx.workspace_id, profile_id="c00001")
    assert snap is not None
    assert {"clv", "scores", "tier", "value", "sentiment"} <= set(snap.computed)
    assert snap.computed["sentiment"]["label"] == "negative"
    second = Report()
    for step in steps:
        step(ctx, second)
    with ctx.store.read() as conn:
        versions = registry.list_versions(conn, workspace_id=ctx.workspace_id)
    assert sorted((v.name, v.version) for v in versions) == [("churn", 1), ("clv", 1)]
