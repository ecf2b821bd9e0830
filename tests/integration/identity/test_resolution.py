from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from partitur.context import Context
from partitur.events.tables import events
from partitur.identity import service as identity
from partitur.identity.tables import identity_merges
from partitur.privacy.audit import list_audit
from partitur.profiles import service as profiles
from tests.conftest import START
from tests.integration.identity.conftest import Timeline
from tests.support.events import message


def _profile_ids(ctx: Context) -> dict[int, str | None]:
    with ctx.store.read() as conn:
        return {r[0]: r[1] for r in conn.execute(select(events.c.seq, events.c.profile_id))}


def test_anonymous_visitor_who_identifies_is_merged_with_the_known_customer(
    ctx: Context, timeline: Timeline
) -> None:
    known = timeline.add(
        message(
            "identify",
            at=START - timedelta(days=3),
            user_id="u-1",
            traits={"email": "Ada@Example.com", "plan": "basic", "name": "Ada"},
        )
    )
    timeline.resolve()
    ctx.clock.advance(timedelta(hours=1))
    visits = timeline.add(
        message("page", at=START, anonymous_id="anon-1", context={"locale": "de-DE"}),
        message("track", at=START + timedelta(minutes=1), anonymous_id="anon-1", event="Viewed"),
    )
    timeline.resolve()
    with ctx.store.read() as conn:
        older = profiles.find_profile(conn, workspace_id=ctx.workspace_id, kind="user_id", value="u-1")
        anon = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="anonymous_id", value="anon-1"
        )
    assert older.id != anon.id

    ctx.clock.advance(timedelta(hours=1))
    link = timeline.add(
        message(
            "identify",
            at=START + timedelta(minutes=5),
            user_id="u-1",
            anonymous_id="anon-1",
            traits={"plan": "premium"},
            context={"timezone": "Europe/Berlin"},
        )
    )
    timeline.resolve()

    owners = _profile_ids(ctx)
    with ctx.store.read() as conn:
        merged = profiles.get_profile(conn, profile_id=anon.id)
        survivor = profiles.get_profile(conn, profile_id=older.id)
        rows = conn.execute(select(identity_merges)).mappings().all()
        audit = list_audit(
            conn, workspace_id=ctx.workspace_id, subject_type="profile", subject_id=survivor.id
        )
    # the survivor is the older profile; the merged id redirects to it
    assert merged.id == survivor.id == older.id
    assert merged.requested_id == anon.id
    assert survivor.merged_from == [anon.id]
    assert {owners[s] for s in visits + known + link} == {older.id}
    assert survivor.traits == {"email": "Ada@Example.com", "plan": "premium", "name": "Ada"}
    assert survivor.identities == {
        "anonymous_id": ["anon-1"],
        "email": ["ada@example.com"],
        "user_id": ["u-1"],
    }
    assert survivor.computed["event_count"] == 4
    assert survivor.timezone == "Europe/Berlin"
    assert survivor.locale == "de-DE"
    assert [(r["survivor_id"], r["merged_id"], r["event_seq"]) for r in rows] == [
        (older.id, anon.id, link[0])
    ]
    assert [a.action for a in audit] == ["profile.merged"]
    with ctx.store.read() as conn:
        assert identity.resolved_position(conn) == link[0]
