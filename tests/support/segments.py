"""A small builder of profiles and events for segment tests (writes the tables directly, the
way identity resolution leaves them: every event has its ``profile_id``)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from partitur.context import Context
from partitur.core.ids import new_id
from partitur.events.tables import events
from partitur.identity.loops import IdentityResolver
from partitur.profiles.tables import profiles, trait_history

_messages = itertools.count(1)


class Population:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.workspace_id = ctx.workspace_id

    def profile(
        self,
        traits: dict[str, Any] | None = None,
        *,
        computed: dict[str, Any] | None = None,
        profile_id: str | None = None,
    ) -> str:
        pid = profile_id or new_id("prf")
        now = self.ctx.clock.now()
        with self.ctx.store.begin() as conn:
            conn.execute(
                profiles.insert().values(
                    id=pid,
                    workspace_id=self.workspace_id,
                    created_at=now,
                    updated_at=now,
                    traits=traits or {},
                    trait_times={},
                    computed=computed or {},
                    is_test=False,
                )
            )
        return pid

    def event(
        self,
        profile_id: str,
        name: str,
        *,
        at: datetime | None = None,
        properties: dict[str, Any] | None = None,
        kind: str = "track",
        traits: dict[str, Any] | None = None,
        resolve: bool = True,
    ) -> int:
        moment = at or self.ctx.clock.now()
        with self.ctx.store.begin() as conn:
            result = conn.execute(
                events.insert().values(
                    workspace_id=self.workspace_id,
                    source_id="src_test",
                    message_id=f"m{next(_messages)}",
                    type=kind,
                    event=name if kind != "identify" else None,
                    user_id=None,
                    anonymous_id="anon",
                    profile_id=profile_id,
                    timestamp=moment,
                    received_at=moment,
                    properties=properties,
                    traits=traits,
                )
            )
        # The event is already attributed; the resolver still has to pass it so that loops
        # following resolved events (segments, journeys) may read it.
        if resolve:
            IdentityResolver(self.ctx).run_until_idle()
        return int(result.inserted_primary_key[0])

    def set_traits(self, profile_id: str, **changes: Any) -> None:
        """Change traits the way the profiles service does: the row plus the trait history."""
        now = self.ctx.clock.now()
        with self.ctx.store.begin() as conn:
            current = (
                conn.execute(profiles.select().where(profiles.c.id == profile_id)).mappings().one()
            )
            conn.execute(
                profiles.update()
                .where(profiles.c.id == profile_id)
                .values(traits={**current["traits"], **changes}, updated_at=now)
            )
            conn.execute(
                trait_history.insert(),
                [
                    {"profile_id": profile_id, "trait": k, "value": v, "changed_at": now}
                    for k, v in changes.items()
                ],
            )


def merge(ctx: Context, *, survivor: str, merged: str) -> None:
    """Merge ``merged`` into ``survivor`` the way identity resolution records it."""
    from partitur.identity.tables import identity_merges

    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        conn.execute(profiles.update().where(profiles.c.id == merged).values(merged_into=survivor))
        conn.execute(
            events.update().where(events.c.profile_id == merged).values(profile_id=survivor)
        )
        conn.execute(
            identity_merges.insert().values(
                workspace_id=ctx.workspace_id, survivor_id=survivor, merged_id=merged, merged_at=now
            )
        )
