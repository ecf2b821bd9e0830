"""The official Segment and RudderStack Python clients deliver to partitur unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient
from sqlalchemy import select

from partitur.context import Context
from partitur.events.tables import events
from tests.support.live_server import live_server


@pytest.fixture
def server_url(ctx: Context) -> Iterator[str]:
    with live_server(ctx) as url:
        yield url


def _calls(client: Any, user: str, anonymous: str) -> None:
    client.identify(user, {"email": f"{user}@example.com"}, anonymous_id=anonymous)
    client.track(user, "Order Completed", {"revenue": 19.99}, anonymous_id=anonymous)
    client.page(user, "Docs", "Getting started", {"path": "/docs"}, anonymous_id=anonymous)
    client.group(user, "acme", {"plan": "team"})
    client.alias(anonymous, user)


def _stored(ctx: Context, source_id: str | None = None) -> list[tuple[Any, ...]]:
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(
                events.c.type,
                events.c.user_id,
                events.c.anonymous_id,
                events.c.event,
                events.c.extra,
            ).order_by(events.c.seq)
        ).all()
    return [tuple(r) for r in rows]


def test_segment_client_delivers_every_call(ctx: Context, write_key: str, server_url: str) -> None:
    errors: list[Any] = []
    client = SegmentClient(
        write_key,
        host=server_url,
        gzip=True,
        max_retries=1,
        timeout=10,
        on_error=lambda exc, batch: errors.append(exc),
    )
    _calls(client, "seg-user", "seg-anon")
    client.flush()
    client.shutdown()
    assert errors == []
    rows = _stored(ctx)
    assert [(t, u, a, e) for t, u, a, e, _ in rows] == [
        ("identify", "seg-user", "seg-anon", None),
        ("track", "seg-user", "seg-anon", "Order Completed"),
        ("page", "seg-user", "seg-anon", "Getting started"),
        ("group", "seg-user", None, None),
        ("alias", "seg-user", None, None),
    ]
    assert rows[3][4]["groupId"] == "acme"
    assert rows[4][4]["previousId"] == "seg-anon"


def test_rudderstack_client_delivers_every_call(
    ctx: Context, write_key: str, server_url: str
) -> None:
    errors: list[Any] = []
    client = RudderClient(
        write_key,
        host=server_url,
        sync_mode=True,
        max_retries=1,
        timeout=10,
        on_error=lambda exc, batch: errors.append(exc),
    )
    _calls(client, "rs-user", "rs-anon")
    client.flush()
    assert errors == []
    assert [(t, u, a) for t, u, a, _, _ in _stored(ctx)] == [
        ("identify", "rs-user", "rs-anon"),
        ("track", "rs-user", "rs-anon"),
        ("page", "rs-user", "rs-anon"),
        ("group", "rs-user", None),
        ("alias", "rs-user", None),
    ]
