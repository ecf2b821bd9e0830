"""Fixtures of the analytics integration tests."""

from __future__ import annotations

import pytest

from partitur.access import service as access
from partitur.access.contracts import Scope
from partitur.context import Context
from partitur.core.actions import Actor


@pytest.fixture
def read_headers(ctx: Context) -> dict[str, str]:
    """Headers of a token with the read scope."""
    with ctx.store.begin() as conn:
        token = access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="r",
            scopes=[Scope.read],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        ).token
    return {"Authorization": f"Bearer {token}"}
