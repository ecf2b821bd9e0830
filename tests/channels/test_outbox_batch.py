"""``enqueue_many`` is ``enqueue`` for each request in turn, only set-based."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from partitur.channels import service
from partitur.channels.contracts import QueuedMessage, SendRequest
from partitur.channels.dispatch import Dispatcher
from partitur.channels.tables import messages
from partitur.context import Context
from partitur.core.clock import VirtualClock
from partitur.events.tables import events
from tests.channels.conftest import make_profile, message, send


def requests(ctx: Context, world: str, known: str, anonymous: str) -> list[SendRequest]:
    """A batch with a repeat inside it, a deferred send and two profiles (one with a user id)."""
    now = ctx.clock.now()

    def req(key: str, profile_id: str, **fields: Any) -> SendRequest:
        return SendRequest.model_validate(
            {
                "idempotency_key": f"{world}:{key}",
                "workspace_id": ctx.workspace_id,
                "profile_id": profile_id,
                "channel": "email",
                "template": "welcome",
            }
            | fields
        )

    return [
        req("i1:hello:0", known, data={"url": "u"}, journey_id="jrn_1", node_id="hello"),
        req("i2:hello:0", anonymous, channel="sms", category="transactional", priority=3),
        req("i1:hello:0", known, template="other"),  # a repeat within the batch
        req("i3:later:0", known, not_before=now + timedelta(hours=2), payload={"group": "news"}),
        req("i4:past:0", anonymous, not_before=now - timedelta(hours=2), journey_version=2),
    ]


def outbox(ctx: Context, world: str) -> dict[str, dict[str, Any]]:
    """The stored rows of a world by idempotency key (without the world prefix)."""
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(messages).where(messages.c.idempotency_key.like(f"{world}:%"))
        ).mappings()
        return {r["idempotency_key"].split(":", 1)[1]: dict(r) for r in rows}


def queued_events(ctx: Context, ids: dict[str, str]) -> list[dict[str, Any]]:
    """The ``message.queued`` events of these message ids (id -> key), in log order."""
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(
                events.c.event,
                events.c.message_id,
                events.c.user_id,
                events.c.anonymous_id,
                events.c.timestamp,
                events.c.properties,
                events.c.context,
            ).order_by(events.c.seq)
        ).mappings()
        found = []
        for r in rows:
            mid = r["properties"].get("message_id")
            if mid not in ids:
                continue
            found.append(
                dict(r)
                | {
                    "message_id": r["message_id"].replace(mid, ids[mid]),
                    "properties": r["properties"] | {"message_id": ids[mid]},
                }
            )
        return found


def answers(result: list[QueuedMessage], rows: dict[str, dict[str, Any]]) -> list[tuple[Any, ...]]:
    by_id = {row["id"]: key for key, row in rows.items()}
    return [(by_id[q.id], q.status, q.duplicate) for q in result]


def test_enqueue_many_equals_enqueue_one_by_one(ctx: Context) -> None:
    known = make_profile(ctx, email="a@example.com", user_id="u-1")
    anonymous = make_profile(ctx, phone="+4915112345678")
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        one_by_one = [
            service.enqueue(conn, request=r, now=now)
            for r in requests(ctx, "single", known, anonymous)
        ]
    with ctx.store.begin() as conn:
        batch = service.enqueue_many(
            conn, requests=requests(ctx, "batch", known, anonymous), now=now
        )
    single_rows, batch_rows = outbox(ctx, "single"), outbox(ctx, "batch")

    assert len(batch_rows) == 4  # the repeat within the batch is stored once
    assert answers(batch, batch_rows) == answers(one_by_one, single_rows)
    assert [(key, status, dup) for key, status, dup in answers(batch, batch_rows)] == [
        ("i1:hello:0", "queued", False),
        ("i2:hello:0", "queued", False),
        ("i1:hello:0", "queued", True),
        ("i3:later:0", "deferred", False),
        ("i4:past:0", "queued", False),
    ]
    assert batch[2].id == batch[0].id

    def comparable(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {
            key: {c: v for c, v in row.items() if c not in ("id", "idempotency_key")}
            for key, row in rows.items()
        }

    assert comparable(batch_rows) == comparable(single_rows)
    assert batch_rows["i1:hello:0"]["template"] == "welcome"  # the first request wins
    assert batch_rows["i3:later:0"]["next_attempt_at"] == now + timedelta(hours=2)

    single_events = queued_events(ctx, {r["id"]: k for k, r in single_rows.items()})
    batch_events = queued_events(ctx, {r["id"]: k for k, r in batch_rows.items()})
    assert batch_events == single_events
    assert [
        (e["properties"]["message_id"], e["user_id"], e["anonymous_id"]) for e in batch_events
    ] == [
        ("i1:hello:0", "u-1", None),
        ("i2:hello:0", None, f"profile:{anonymous}"),
        ("i3:later:0", "u-1", None),
        ("i4:past:0", None, f"profile:{anonymous}"),
    ]
    assert {e["event"] for e in batch_events} == {"message.queued"}


def test_repeats_across_calls_are_duplicates_of_the_stored_message(
    ctx: Context, clock: VirtualClock
) -> None:
    known = make_profile(ctx, email="a@example.com", user_id="u-1")
    anonymous = make_profile(ctx, phone="+4915112345678")
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        first = service.enqueue_many(
            conn, requests=requests(ctx, "w", known, anonymous)[:2], now=now
        )
    clock.advance(timedelta(minutes=5))
    later = ctx.clock.now()
    with ctx.store.begin() as conn:
        again = service.enqueue_many(conn, requests=requests(ctx, "w", known, anonymous), now=later)
        one = service.enqueue(conn, request=requests(ctx, "w", known, anonymous)[1], now=later)
    rows = outbox(ctx, "w")

    assert [(q.id, q.duplicate) for q in again[:3]] == [
        (first[0].id, True),
        (first[1].id, True),
        (first[0].id, True),
    ]
    assert [q.duplicate for q in again[3:]] == [False, False]
    assert (one.id, one.status, one.duplicate) == (first[1].id, "queued", True)
    assert len(rows) == 4
    assert rows["i1:hello:0"]["created_at"] == now  # the stored row is left alone
    queued = queued_events(ctx, {r["id"]: k for k, r in rows.items()})
    assert [e["properties"]["message_id"] for e in queued] == [
        "i1:hello:0",
        "i2:hello:0",
        "i3:later:0",
        "i4:past:0",
    ]


def test_an_empty_batch_writes_nothing(ctx: Context) -> None:
    with ctx.store.begin() as conn:
        assert service.enqueue_many(conn, requests=[], now=ctx.clock.now()) == []
    with ctx.store.read() as conn:
        assert conn.execute(select(messages.c.id)).first() is None


def test_a_replayed_send_is_stamped_at_the_moment_it_was_made(
    ctx: Context, dispatcher: Dispatcher
) -> None:
    pid = make_profile(ctx)
    made = ctx.clock.now() - timedelta(days=10, minutes=17)
    message_id = send(
        ctx, pid, "in_app", category="transactional", payload={"text": "hi"}, occurred_at=made
    )
    dispatcher.run_once(ctx.clock.now())
    sent = message(ctx, message_id)
    assert (sent.status, sent.created_at, sent.sent_at, sent.delivered_at) == (
        "delivered",
        made,
        made,
        made,
    )
    with ctx.store.read() as conn:
        rows = conn.execute(select(events.c.event, events.c.timestamp, events.c.properties)).all()
    stamps = {name: at for name, at, props in rows if props["message_id"] == message_id}
    assert stamps == {"message.queued": made, "message.sent": made, "message.delivered": made}
    live = send(ctx, pid, "in_app", category="transactional", payload={"text": "now"})
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, live).sent_at == ctx.clock.now()


def test_agent_tasks_webhooks_and_owner_notices_are_no_customer_touches() -> None:
    touches = service.touch_categories()
    assert set(touches.internal_channels) == {"agent_task", "webhook"}
    assert {"email", "sms", "push", "in_app"} <= set(touches.customer_channels)
    assert touches.internal_builtins == ["owner_notice"]
