"""Segment membership kept current: on events, on trait changes and when windows pass."""

from __future__ import annotations

from datetime import timedelta

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.segments import service
from partitur.segments.contracts import SegmentDefinition
from partitur.segments.loops import (
    EventMembershipLoop,
    MergeMembershipLoop,
    TraitMembershipLoop,
    WindowCheckLoop,
)
from tests.support.segments import Population, merge

MORTGAGE_RESEARCH = {
    "event": "Page Viewed",
    "where": [{"property": "category", "op": "eq", "value": "mortgage"}],
    "within": "P7D",
    "count": {"op": "gte", "value": 3},
}


def define(ctx: Context, key: str, rule: dict[str, object]) -> None:
    with ctx.store.begin() as conn:
        service.create_segment(
            conn,
            workspace_id=ctx.workspace_id,
            definition=SegmentDefinition.model_validate({"key": key, "name": key, "rule": rule}),
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )


def members_of(ctx: Context, key: str) -> set[str]:
    with ctx.store.read() as conn:
        return {
            pid
            for chunk in service.audience(conn, workspace_id=ctx.workspace_id, segment_key=key)
            for pid in chunk
        }


def changes(ctx: Context) -> list[tuple[str, str, str]]:
    with ctx.store.read() as conn:
        feed = service.changes_since(conn, workspace_id=ctx.workspace_id, after=0, limit=1000)
    return [(c.segment_key, c.profile_id, c.change) for c in feed]


def test_a_profile_enters_on_the_event_that_completes_the_rule(ctx: Context) -> None:
    people = Population(ctx)
    anna, ben = people.profile(), people.profile()
    define(ctx, "mortgage-research", MORTGAGE_RESEARCH)
    loop = EventMembershipLoop(ctx)
    for _ in range(2):
        people.event(anna, "Page Viewed", properties={"category": "mortgage"})
    people.event(ben, "Page Viewed", properties={"category": "cards"})
    assert loop.run_once(ctx.clock.now()) == 3
    assert members_of(ctx, "mortgage-research") == set()

    seen = ctx.signals.version("segments")
    people.event(anna, "Page Viewed", properties={"category": "Mortgage"})
    loop.run_once(ctx.clock.now())

    assert members_of(ctx, "mortgage-research") == {anna}
    assert changes(ctx) == [("mortgage-research", anna, "entered")]
    assert ctx.signals.version("segments") > seen
    with ctx.store.read() as conn:
        assert service.memberships(conn, workspace_id=ctx.workspace_id, profile_id=anna) == {
            "mortgage-research"
        }
        assert (
            service.size(conn, workspace_id=ctx.workspace_id, segment_key="mortgage-research") == 1
        )


def test_a_profile_exits_when_its_events_leave_the_window(
    ctx: Context, clock: VirtualClock
) -> None:
    people = Population(ctx)
    anna = people.profile()
    for days in (3, 2, 1):
        people.event(
            anna,
            "Page Viewed",
            at=clock.now() - timedelta(days=days),
            properties={"category": "mortgage"},
        )
    define(ctx, "mortgage-research", MORTGAGE_RESEARCH)
    assert members_of(ctx, "mortgage-research") == {anna}
    windows = WindowCheckLoop(ctx)

    clock.advance(timedelta(days=3, hours=23))  # the oldest view is 6d23h old: still in
    windows.run_once(clock.now())
    assert members_of(ctx, "mortgage-research") == {anna}

    clock.advance(timedelta(hours=2))  # now it is 7d1h old: out of the window
    assert windows.run_once(clock.now()) == 1
    assert members_of(ctx, "mortgage-research") == set()
    assert changes(ctx)[-1] == ("mortgage-research", anna, "exited")


def test_no_order_in_30_days_enters_when_the_last_order_ages_out(
    ctx: Context, clock: VirtualClock
) -> None:
    people = Population(ctx)
    anna = people.profile()
    define(ctx, "lapsed", {"last_event": "Order Completed", "within": "P30D", "negate": True})
    assert members_of(ctx, "lapsed") == {anna}  # never ordered

    people.event(anna, "Order Completed")
    EventMembershipLoop(ctx).run_once(clock.now())
    assert members_of(ctx, "lapsed") == set()

    clock.advance(timedelta(days=30, seconds=1))
    WindowCheckLoop(ctx).run_once(clock.now())
    assert members_of(ctx, "lapsed") == {anna}
    assert [c[2] for c in changes(ctx)] == ["entered", "exited", "entered"]


def test_trait_changes_move_profiles_in_and_out(ctx: Context) -> None:
    people = Population(ctx)
    anna = people.profile({"plan": "free"})
    define(ctx, "pro", {"trait": "plan", "op": "eq", "value": "pro"})
    loop = TraitMembershipLoop(ctx)
    assert members_of(ctx, "pro") == set()

    people.set_traits(anna, plan="Pro")
    assert loop.run_once(ctx.clock.now()) == 1
    assert members_of(ctx, "pro") == {anna}

    people.set_traits(anna, plan="free")
    loop.run_once(ctx.clock.now())
    assert members_of(ctx, "pro") == set()


def test_an_identify_event_reevaluates_trait_segments(ctx: Context) -> None:
    people = Population(ctx)
    anna = people.profile({"plan": "free"})
    define(ctx, "pro", {"trait": "plan", "op": "eq", "value": "pro"})
    # identity resolution applies the traits to the profile, then releases the event
    people.set_traits(anna, plan="pro")
    people.event(anna, "", kind="identify", traits={"plan": "pro"})
    EventMembershipLoop(ctx).run_once(ctx.clock.now())
    assert members_of(ctx, "pro") == {anna}


def test_segments_on_segments_follow_their_inputs_in_order(ctx: Context) -> None:
    people = Population(ctx)
    anna = people.profile({"plan": "pro"})
    define(ctx, "buyers", {"event": "Order Completed"})
    define(ctx, "pro-buyers", {"all": [{"segment": "buyers"}, {"trait": "plan", "value": "pro"}]})
    people.event(anna, "Order Completed")
    EventMembershipLoop(ctx).run_once(ctx.clock.now())
    assert changes(ctx) == [("buyers", anna, "entered"), ("pro-buyers", anna, "entered")]


def test_the_change_feed_is_ordered_and_resumable(ctx: Context) -> None:
    people = Population(ctx)
    ids = [people.profile({"n": n}) for n in range(5)]
    define(ctx, "buyers", {"event": "Order Completed"})
    loop = EventMembershipLoop(ctx)
    for pid in ids:
        people.event(pid, "Order Completed")
        loop.run_once(ctx.clock.now())
    with ctx.store.read() as conn:
        first = service.changes_since(conn, workspace_id=ctx.workspace_id, after=0, limit=3)
        rest = service.changes_since(
            conn, workspace_id=ctx.workspace_id, after=first[-1].seq, limit=10
        )
    assert [c.profile_id for c in first + rest] == ids
    seqs = [c.seq for c in first + rest]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5


def test_the_loop_waits_for_events_without_a_profile(ctx: Context) -> None:
    people = Population(ctx)
    anna = people.profile()
    define(ctx, "buyers", {"event": "Order Completed"})
    first = people.event(anna, "Order Completed")
    people.event(None, "Order Completed", resolve=False)  # type: ignore[arg-type]
    people.event(anna, "Order Completed", resolve=False)
    loop = EventMembershipLoop(ctx)
    assert loop.run_once(ctx.clock.now()) == first  # stops before the unresolved event
    assert loop.run_once(ctx.clock.now()) == 0


def test_a_merge_moves_membership_to_the_survivor(ctx: Context) -> None:
    people = Population(ctx)
    web, crm = people.profile(), people.profile()
    define(ctx, "mortgage-research", MORTGAGE_RESEARCH)
    for pid in (web, web, crm):
        people.event(pid, "Page Viewed", properties={"category": "mortgage"})
    people.event(web, "Page Viewed", properties={"category": "mortgage"})
    EventMembershipLoop(ctx).run_once(ctx.clock.now())
    assert members_of(ctx, "mortgage-research") == {web}

    merge(ctx, survivor=crm, merged=web)  # crm now holds all four views
    assert MergeMembershipLoop(ctx).run_once(ctx.clock.now()) == 1
    assert members_of(ctx, "mortgage-research") == {crm}
    assert set(changes(ctx)[-2:]) == {
        ("mortgage-research", web, "exited"),
        ("mortgage-research", crm, "entered"),
    }


def test_rules_sql_cannot_express_are_kept_current_in_python(ctx: Context) -> None:
    people = Population(ctx)
    anna = people.profile({"email": "anna@shop.example"})
    define(ctx, "example-staff", {"trait": "email", "op": "matches", "value": r"@example\.com$"})
    assert members_of(ctx, "example-staff") == set()
    people.set_traits(anna, email="anna@example.com")
    TraitMembershipLoop(ctx).run_once(ctx.clock.now())
    assert members_of(ctx, "example-staff") == {anna}
