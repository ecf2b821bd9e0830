from __future__ import annotations

from datetime import timedelta

import pytest

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.errors import NotFound, ValidationFailed
from partitur.profiles import service as profiles
from tests.conftest import START
from tests.integration.identity.conftest import Timeline
from tests.support.events import message


def test_other_domains_set_computed_scores_in_bulk_and_read_channel_addresses(
    ctx: Context, timeline: Timeline
) -> None:
    timeline.add(
        message(
            "identify",
            at=START,
            user_id="u-1",
            traits={"email": "A@B.io", "phone": "030 1234567", "push_tokens": ["t1", "t2"]},
        ),
        message("identify", at=START, user_id="u-2"),
    )
    timeline.resolve()
    with ctx.store.begin() as conn:
        one = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="user_id", value="u-1"
        )
        two = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="user_id", value="u-2"
        )
        updated = profiles.set_computed(
            conn,
            workspace_id=ctx.workspace_id,
            values={one.id: {"churn": 0.25}, two.id: {"churn": 0.75}, "prf_gone": {"churn": 1}},
            now=ctx.clock.now(),
        )
        one = profiles.get_profile(conn, profile_id=one.id)
    assert updated == 2
    assert one.computed["churn"] == 0.25
    assert one.computed["event_count"] == 1
    assert profiles.channel_addresses(one) == {
        "email": "a@b.io",
        "phone": "0301234567",
        "device_tokens": ["t1", "t2"],
    }


def test_update_traits_validates_and_follows_merges(ctx: Context, timeline: Timeline) -> None:
    timeline.add(message("identify", at=START, user_id="u-1"))
    timeline.resolve()
    with ctx.store.begin() as conn:
        pid = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="user_id", value="u-1"
        ).id
        with pytest.raises(ValidationFailed):
            profiles.update_traits(
                conn,
                workspace_id=ctx.workspace_id,
                profile_id=pid,
                traits={},
                now=START,
                source="t",
                actor=Actor.system(ctx.workspace_id, "test"),
            )
        with pytest.raises(NotFound):
            profiles.update_traits(
                conn,
                workspace_id=ctx.workspace_id,
                profile_id="prf_missing",
                traits={"a": 1},
                now=START,
                source="t",
                actor=Actor.system(ctx.workspace_id, "test"),
            )
        with pytest.raises(ValidationFailed):
            profiles.find_profile(conn, workspace_id=ctx.workspace_id, kind="email", value="nope")
        changed = profiles.update_traits(
            conn,
            workspace_id=ctx.workspace_id,
            profile_id=pid,
            traits={"tier": "vip"},
            now=START + timedelta(days=1),
            source="crm",
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    assert changed.traits == {"tier": "vip"}
