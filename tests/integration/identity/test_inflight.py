from __future__ import annotations

from sqlalchemy import select

from partitur.context import Context
from partitur.events.tables import events
from partitur.identity import service as identity
from tests.conftest import START
from tests.integration.identity.conftest import Timeline
from tests.support.events import insert_events, message


def test_resolver_does_not_skip_an_event_whose_transaction_commits_late(
    ctx: Context, timeline: Timeline
) -> None:
    """On PostgreSQL a later seq can commit before an earlier one; the resolver must wait for
    the earlier one instead of moving its cursor past it. (On SQLite writers are serialised.)"""
    if ctx.store.is_sqlite:
        timeline.add(message("track", at=START, user_id="u-1", event="A"))
        assert timeline.resolve() == 1
        return
    slow = ctx.store.engine.connect()
    tx = slow.begin()
    late = insert_events(slow, ctx.workspace_id, [message("track", at=START, user_id="u-1")])
    early = timeline.add(message("track", at=START, user_id="u-2", event="B"))
    assert early[0] > late[0]
    timeline.resolve()
    with ctx.store.read() as conn:
        assert identity.resolved_position(conn) < late[0]
    tx.commit()
    slow.close()
    timeline.resolve()
    with ctx.store.read() as conn:
        owners = dict(conn.execute(select(events.c.seq, events.c.profile_id)).all())
        assert identity.resolved_position(conn) == early[0]
    assert owners[late[0]] is not None
    assert owners[early[0]] is not None
