"""Backfill on SQLite and PostgreSQL: a just-published journey runs over the stored history as
if it had been live, every step at its own time, and the live consumers do not apply that
history to it a second time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.core.errors import Conflict, ValidationFailed
from partitur.demo.loader import resolve_identities
from partitur.journeys import service
from partitur.journeys.backfill import backfill
from tests.integration.journeys.test_shell import (
    CART,
    event,
    history,
    profile,
    publish,
    pump,
    sends,
)


def outbox_statuses(ctx: Context) -> set[str]:
    from partitur.channels.tables import messages

    with ctx.store.read() as conn:
        return set(conn.execute(select(messages.c.status)).scalars())


def test_a_backfill_runs_the_history_through_the_journey_at_the_original_times(
    ctx: Context, clock: VirtualClock
) -> None:
    t0 = clock.now()
    for pid in ("abandons", "checks-out", "buys", "late"):
        profile(ctx, pid)
    event(ctx, "late", "Checkout Started")  # before the cart: replayed, but means nothing
    event(ctx, "abandons", "Cart Abandoned")
    clock.advance(timedelta(hours=2))
    event(ctx, "checks-out", "Cart Abandoned")
    clock.advance(timedelta(minutes=30))
    event(ctx, "checks-out", "Checkout Started")
    clock.advance(timedelta(hours=3))
    event(ctx, "buys", "Cart Abandoned")
    clock.advance(timedelta(minutes=10))
    event(ctx, "buys", "Order Completed", total=80)
    clock.set(t0 + timedelta(days=3) - timedelta(minutes=30))
    event(ctx, "late", "Cart Abandoned")
    clock.advance(timedelta(minutes=30))
    publish(ctx, CART)
    pump(ctx)  # the live runtime ignores what it received before the journey was live
    assert history(ctx, "abandons") == []

    result = backfill(
        ctx,
        keys=["cart"],
        since=t0 - timedelta(hours=1),
        actor=Actor.system(ctx.workspace_id, "test"),
    )

    assert result.events == 7 and result.instances["cart"] == {
        "completed": 2,
        "converted": 1,
        "active": 1,
    }
    (abandoned,) = history(ctx, "abandons")
    assert abandoned.status == "completed"
    assert [(t.node_id, t.at - t0) for t in abandoned.history] == [
        ("wait_order", timedelta(0)),
        ("email", timedelta(hours=1)),
        ("later", timedelta(hours=1)),
        ("tag", timedelta(days=1, hours=1)),
        ("sms", timedelta(days=1, hours=1)),
        (None, timedelta(days=1, hours=1)),
    ]
    (checked_out,) = history(ctx, "checks-out")
    assert (checked_out.status, checked_out.end_reason) == ("completed", "checking out")
    (bought,) = history(ctx, "buys")
    assert bought.status == "converted" and bought.converted_at == t0 + timedelta(
        hours=5, minutes=40
    )
    assert [s[:2] for s in sends(ctx)] == [
        ("abandons", "cart"),
        ("abandons", "cart-sms"),
    ]
    # the replayed sends are recorded but withdrawn: nobody gets a three-day-old reminder
    assert result.withdrawn_sends == 2
    assert outbox_statuses(ctx) == {"suppressed"}

    # the live consumer skips the replayed history: the early "Checkout Started" of "late"
    # does not end the instance that is still waiting for one
    pump(ctx)
    (late,) = history(ctx, "late")
    assert late.status == "active" and late.current_node == "wait_order"
    # and continues it live: an hour after the cart the reminder goes out
    clock.advance(timedelta(minutes=31))
    pump(ctx)
    assert [s[:2] for s in sends(ctx)][-1] == ("late", "cart")
    assert outbox_statuses(ctx) == {"suppressed", "queued"}  # the live one goes out
    event(ctx, "late", "Order Completed", total=10)
    resolve_identities(ctx)  # the outbox's delivery events, so the consumer gets past them
    pump(ctx)
    assert history(ctx, "late")[0].status == "converted"


def test_a_journey_is_backfilled_once_and_only_before_it_has_instances(
    ctx: Context, clock: VirtualClock
) -> None:
    t0 = clock.now()
    profile(ctx, "p1")
    publish(ctx, CART)
    with pytest.raises(ValidationFailed):
        backfill(
            ctx,
            keys=["cart"],
            since=t0 + timedelta(hours=1),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    clock.advance(timedelta(hours=1))
    backfill(ctx, keys=["cart"], since=t0, actor=Actor.system(ctx.workspace_id, "test"))
    with pytest.raises(Conflict, match="backfilled already"):
        backfill(ctx, keys=["cart"], since=t0, actor=Actor.system(ctx.workspace_id, "test"))

    running = {**CART, "key": "running"}
    publish(ctx, running)
    event(ctx, "p1", "Cart Abandoned")
    pump(ctx)
    with pytest.raises(Conflict, match="has instances"):
        backfill(ctx, keys=["running"], since=t0, actor=Actor.system(ctx.workspace_id, "test"))
    with ctx.store.read() as conn:
        assert service.was_backfilled_or_started(conn, workspace_id=ctx.workspace_id, key="cart")


def test_replayed_sends_are_stamped_when_they_were_made(ctx: Context, clock: VirtualClock) -> None:
    from partitur.channels.tables import messages

    t0 = clock.now()
    profile(ctx, "first")
    profile(ctx, "second")
    event(ctx, "first", "Cart Abandoned")
    clock.advance(timedelta(minutes=40))  # same hour of the reminders, 40 minutes later
    event(ctx, "second", "Cart Abandoned")
    clock.set(t0 + timedelta(days=3))
    publish(ctx, CART)
    backfill(
        ctx,
        keys=["cart"],
        since=t0 - timedelta(hours=1),
        deliver=True,
        actor=Actor.system(ctx.workspace_id, "test"),
    )
    with ctx.store.read() as conn:
        made = {
            (r.profile_id, r.template): (r.created_at, r.replayed_at)
            for r in conn.execute(
                select(messages.c.profile_id, messages.c.template, messages.c.created_at,
                       messages.c.replayed_at)
            )
        }  # fmt: skip
    # each reminder at its own moment, an hour after its own cart (not at the first of the hour)
    assert made[("first", "cart")] == (t0 + timedelta(hours=1),) * 2
    assert made[("second", "cart")] == (t0 + timedelta(hours=1, minutes=40),) * 2
    assert made[("second", "cart-sms")] == (t0 + timedelta(days=1, hours=1, minutes=40),) * 2
