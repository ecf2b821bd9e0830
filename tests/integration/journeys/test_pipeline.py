"""Through the real pipeline: events ingested, identities resolved, journeys react."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock, isoformat
from partitur.events import service as events
from partitur.journeys import service
from partitur.journeys.loops import EventConsumer, TimerScheduler
from partitur.workspaces import service as workspaces
from tests.integration.journeys.test_shell import publish

# the whole pipeline needs identity resolution and the profiles service (branch identity)
IdentityResolver = pytest.importorskip("partitur.identity.loops").IdentityResolver
profiles = pytest.importorskip("partitur.profiles.service")

JOURNEY: dict[str, Any] = {
    "key": "onboarding",
    "name": "Onboarding",
    "entry": {
        "type": "event",
        "event": "Signed Up",
        "condition": {"trait": "plan", "op": "eq", "value": "pro"},
    },
    "start": "wait_login",
    "nodes": [
        {
            "id": "wait_login",
            "type": "wait_for_event",
            "event": "Logged In",
            "timeout": "P1D",
            "next": "tag",
            "timeout_next": "tag",
        },
        {"id": "tag", "type": "update_profile", "traits": {"onboarded": True}, "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}


def ingest(ctx: Context, source_id: str, *messages: dict[str, Any]) -> None:
    with ctx.store.begin() as conn:
        events.ingest_messages(
            conn,
            workspace_id=ctx.workspace_id,
            source_id=source_id,
            messages=list(messages),
            received_at=ctx.clock.now(),
            origin="test",
        )
    IdentityResolver(ctx).run_until_idle(ctx.clock.now())
    consumer, timers = EventConsumer(ctx), TimerScheduler(ctx)
    while consumer.run_once(ctx.clock.now()) + timers.run_once(ctx.clock.now()):
        pass


def test_an_identified_pro_user_is_enrolled_resumed_and_updated(
    ctx: Context, clock: VirtualClock
) -> None:
    publish(ctx, JOURNEY)
    with ctx.store.begin() as conn:
        source = workspaces.create_source(
            conn,
            workspace_id=ctx.workspace_id,
            name="web",
            now=clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    now = isoformat(clock.now())
    ingest(
        ctx,
        source.id,
        {
            "type": "identify",
            "userId": "u1",
            "traits": {"plan": "pro"},
            "messageId": "m1",
            "timestamp": now,
        },
        {
            "type": "identify",
            "userId": "u2",
            "traits": {"plan": "free"},
            "messageId": "m2",
            "timestamp": now,
        },
        {
            "type": "track",
            "userId": "u1",
            "event": "Signed Up",
            "messageId": "m3",
            "timestamp": now,
        },
        {
            "type": "track",
            "userId": "u2",
            "event": "Signed Up",
            "messageId": "m4",
            "timestamp": now,
        },
    )
    clock.advance(timedelta(minutes=3))
    ingest(
        ctx,
        source.id,
        {
            "type": "track",
            "userId": "u1",
            "event": "Logged In",
            "messageId": "m5",
            "timestamp": isoformat(clock.now()),
        },
    )
    with ctx.store.read() as conn:
        pro = profiles.find_profile(conn, workspace_id=ctx.workspace_id, kind="user_id", value="u1")
        free = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="user_id", value="u2"
        )
        pro_history = service.profile_journeys(
            conn, workspace_id=ctx.workspace_id, profile_id=pro.id
        )
        free_history = service.profile_journeys(
            conn, workspace_id=ctx.workspace_id, profile_id=free.id
        )
    assert free_history == []
    (instance,) = pro_history
    assert instance.status == "completed"
    assert instance.history[1].reason == "event Logged In arrived"
    assert pro.traits["onboarded"] is True
