"""Several workers share the journey event shards (SQLite and PostgreSQL): a joining worker
gets its fair share, every event is handled once and in order per profile, and the shards of a
worker that stops are taken over when its leases expire."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.journeys import service
from partitur.journeys.loops import EventConsumer, shard_of
from partitur.journeys.tables import journey_instances, journey_leases
from tests.support.journeys import add_events, add_profile

SHARDS = 4
PING = {
    "key": "ping",
    "name": "Ping pong",
    "entry": {"type": "event", "event": "Ping"},
    "start": "wait",
    "nodes": [
        # a Pong handled before its Ping would leave the instance waiting: order matters
        {"id": "wait", "type": "wait_for_event", "event": "Pong", "timeout": "P1D", "next": "done"},
        {"id": "done", "type": "exit", "reason": "answered"},
    ],
}


def worker(ctx: Context, owner: str) -> list[EventConsumer]:
    return [EventConsumer(ctx, shard=s, shards=SHARDS, owner=owner) for s in range(SHARDS)]


def run(ctx: Context, *workers: list[EventConsumer]) -> None:
    """Every consumer of every worker, round after round, until none has work (a few idle rounds
    let leases change hands)."""
    idle = 0
    while idle < 3:
        done = sum(c.run_once(ctx.clock.now()) for w in workers for c in w)
        idle = 0 if done else idle + 1


def held(ctx: Context) -> dict[str, set[int]]:
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(journey_leases.c.name, journey_leases.c.owner).where(
                journey_leases.c.name.like("journeys.events.%"),
                journey_leases.c.expires_at >= ctx.clock.now(),
            )
        ).all()
    out: dict[str, set[int]] = {}
    for name, owner in rows:
        out.setdefault(owner, set()).add(int(name.split(".")[2].split("of")[0]))
    return out


def ping_pong(ctx: Context, profile_ids: list[str]) -> None:
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        for pid in profile_ids:
            add_profile(conn, workspace_id=ctx.workspace_id, profile_id=pid, now=now)
        add_events(
            conn,
            workspace_id=ctx.workspace_id,
            rows=[(pid, name, now) for pid in profile_ids for name in ("Ping", "Pong")],
        )


def statuses(ctx: Context) -> dict[str, list[str]]:
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(journey_instances.c.profile_id, journey_instances.c.status)
        ).all()
    out: dict[str, list[str]] = {}
    for pid, status in rows:
        out.setdefault(pid, []).append(status)
    return out


def test_workers_share_the_shards_and_take_over_from_a_stopped_one(
    ctx: Context, clock: VirtualClock
) -> None:
    with ctx.store.begin() as conn:
        service.save_draft(
            conn,
            workspace_id=ctx.workspace_id,
            document=PING,
            now=clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
        service.publish(
            conn,
            workspace_id=ctx.workspace_id,
            key="ping",
            now=clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    first_wave = [f"a{i:02d}" for i in range(24)]
    assert {shard_of(p, SHARDS) for p in first_wave} == set(range(SHARDS))

    one, two = worker(ctx, "w1"), worker(ctx, "w2")
    ping_pong(ctx, first_wave)
    run(ctx, one)
    assert held(ctx) == {"w1": {0, 1, 2, 3}}  # alone, the first worker takes every shard

    clock.advance(timedelta(seconds=1))
    run(ctx, one, two)
    assert held(ctx) == {"w1": {0, 1}, "w2": {2, 3}}  # a second worker gets its fair share

    second_wave = [f"b{i:02d}" for i in range(24)]
    ping_pong(ctx, second_wave)
    run(ctx, two, one)
    # every profile entered once and its Pong (after its Ping) ended the wait, whichever
    # worker held its shard
    assert statuses(ctx) == {p: ["completed"] for p in first_wave + second_wave}

    # the first worker stops; once its leases (and presence) expire the second takes over
    clock.advance(timedelta(seconds=31))
    third_wave = [f"c{i:02d}" for i in range(24)]
    ping_pong(ctx, third_wave)
    run(ctx, two)
    assert held(ctx) == {"w2": {0, 1, 2, 3}}
    assert all(statuses(ctx)[p] == ["completed"] for p in third_wave)
