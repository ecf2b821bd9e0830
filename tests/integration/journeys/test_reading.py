"""Reading a journey's instances for people (the web UI): the latest first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.core.errors import NotFound
from partitur.journeys import service
from tests.integration.journeys.test_api import WELCOME
from tests.integration.journeys.test_shell import profile, publish


def test_latest_instances_are_the_most_recently_entered_first(
    ctx: Context, clock: VirtualClock
) -> None:
    publish(ctx, WELCOME)
    for pid in ("first", "second", "third"):
        profile(ctx, pid)
        with ctx.store.begin() as conn:
            service.enrol(
                conn, workspace_id=ctx.workspace_id, key="welcome", profile_ids=[pid],
                now=clock.now(), actor=Actor.system(ctx.workspace_id, "test")
            )  # fmt: skip
        clock.advance(timedelta(minutes=10))
    with ctx.store.read() as conn:
        latest = service.latest_instances(conn, workspace_id=ctx.workspace_id, key="welcome")
        two = service.latest_instances(conn, workspace_id=ctx.workspace_id, key="welcome", limit=2)
        with pytest.raises(NotFound):
            service.latest_instances(conn, workspace_id=ctx.workspace_id, key="nope")
    assert [i.profile_id for i in latest] == ["third", "second", "first"]
    assert [i.profile_id for i in two] == ["third", "second"]
    assert all(i.journey_key == "welcome" and i.current_node == "w" for i in latest)
