from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from partitur.context import Context
from partitur.identity.loops import IdentityResolver
from tests.support.events import insert_events


class Timeline:
    """Arrange events and resolve them, as ingestion + the resolver loop would."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.resolver = IdentityResolver(ctx, batch_size=1000)

    def add(self, *messages: dict[str, Any]) -> list[int]:
        with self.ctx.store.begin() as conn:
            return insert_events(conn, self.ctx.workspace_id, list(messages))

    def resolve(self, now: datetime | None = None) -> int:
        return self.resolver.run_until_idle(now)


@pytest.fixture
def timeline(ctx: Context) -> Timeline:
    return Timeline(ctx)
