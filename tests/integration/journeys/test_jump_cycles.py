"""Journeys that jump into each other: refused at publish when the cycle is visible, and
harmless when it appears later (a paused journey resumed)."""

from __future__ import annotations

from typing import Any

import pytest

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.errors import InvalidDocument
from partitur.journeys import service
from partitur.journeys.runner import MAX_JOURNEY_JUMPS
from tests.integration.journeys.test_shell import event, history, profile, publish, pump


def _hand_on(key: str, to: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": key,
        "name": key.title(),
        "entry": entry,
        "re_entry": {"policy": "when_not_active"},
        "start": "hand-on",
        "nodes": [{"id": "hand-on", "type": "jump", "journey": to}],
    }


PING = _hand_on("ping", "pong", {"type": "event", "event": "Ticket Opened"})
PONG = _hand_on("pong", "ping", {"type": "manual"})
WELCOME = {
    "key": "welcome",
    "name": "Welcome",
    "entry": {"type": "event", "event": "Ticket Opened"},
    "start": "done",
    "nodes": [{"id": "done", "type": "exit"}],
}


def _set(ctx: Context, key: str, status: str) -> None:
    with ctx.store.begin() as conn:
        change = service.pause if status == "paused" else service.resume
        change(
            conn,
            workspace_id=ctx.workspace_id,
            key=key,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )


def test_a_visible_jump_cycle_is_refused_at_publish_with_its_path(ctx: Context) -> None:
    publish(ctx, PING)
    with pytest.raises(InvalidDocument) as refused:
        publish(ctx, PONG)
    (problem,) = refused.value.problems
    assert problem["node"] == "hand-on"
    assert problem["message"] == "journeys jump into each other: pong -> ping -> pong"


def test_a_cycle_made_later_stops_after_the_jump_limit_and_stalls_nothing(
    ctx: Context,
) -> None:
    publish(ctx, PING)
    publish(ctx, WELCOME)
    _set(ctx, "ping", "paused")
    publish(ctx, PONG)  # ping is paused: no cycle to see
    _set(ctx, "ping", "active")
    profile(ctx, "p1")
    event(ctx, "p1", "Ticket Opened")
    pump(ctx)  # before: RecursionError on every pass, for every event-triggered journey
    entered = [i.journey_key for i in history(ctx, "p1")]
    assert entered.count("ping") + entered.count("pong") == MAX_JOURNEY_JUMPS + 1
    assert "welcome" in entered
    profile(ctx, "p2")
    event(ctx, "p2", "Ticket Opened")
    pump(ctx)
    assert "welcome" in [i.journey_key for i in history(ctx, "p2")]
