"""The ingestion use case on SQLite and PostgreSQL: dedupe, quarantine, paging."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from partitur.context import Context
from partitur.events import service
from partitur.workspaces import service as workspaces


def _source(ctx: Context, name: str = "web") -> str:
    with ctx.store.begin() as conn:
        return workspaces.ensure_source(
            conn, workspace_id=ctx.workspace_id, name=name, now=ctx.clock.now()
        ).id


def _ingest(ctx: Context, source_id: str, messages: list[dict]) -> service.IngestResult:
    with ctx.store.begin() as conn:
        return service.ingest_messages(
            conn,
            workspace_id=ctx.workspace_id,
            source_id=source_id,
            messages=messages,
            received_at=ctx.clock.now(),
            origin="test",
        )


def test_good_messages_are_stored_and_bad_ones_quarantined(ctx: Context) -> None:
    source_id = _source(ctx)
    result = _ingest(
        ctx,
        source_id,
        [
            {"type": "track", "userId": "u1", "event": "Order Completed", "messageId": "m1"},
            {"type": "track", "event": "No One"},
            {"type": "identify", "anonymousId": "a1", "traits": {"email": "a@example.com"}},
        ],
    )
    assert (result.accepted, result.duplicates) == (2, 0)
    assert [(r.index, r.field) for r in result.rejected] == [(1, "userId")]
    with ctx.store.read() as conn:
        stored = conn.execute(
            text("SELECT type, user_id, anonymous_id, profile_id FROM events ORDER BY seq")
        ).all()
        quarantined, cursor = service.list_quarantine(
            conn, workspace_id=ctx.workspace_id, cursor=None, limit=10
        )
    assert [tuple(r) for r in stored] == [
        ("track", "u1", None, None),
        ("identify", None, "a1", None),
    ]
    assert cursor is None
    assert [(q.position, q.field, q.origin) for q in quarantined] == [("1", "userId", "test")]
    assert '"No One"' in quarantined[0].payload


def test_a_retried_message_is_stored_once_with_or_without_message_id(ctx: Context) -> None:
    source_id = _source(ctx)
    batch = [
        {"type": "track", "userId": "u1", "event": "A", "messageId": "m1"},
        {"type": "track", "userId": "u1", "event": "B", "timestamp": "2026-01-01T00:00:00Z"},
    ]
    assert _ingest(ctx, source_id, batch).accepted == 2
    retry = [dict(batch[0]), {**batch[1], "sentAt": "2026-01-01T00:00:09Z"}]
    again = _ingest(ctx, source_id, retry)
    assert (again.accepted, again.duplicates) == (0, 2)
    # the same messageId from another source is another message
    assert _ingest(ctx, _source(ctx, "app"), batch[:1]).accepted == 1


def test_events_page_newest_first_by_timestamp_then_seq(ctx: Context) -> None:
    source_id = _source(ctx)
    base = ctx.clock.now()
    messages = [
        {
            "type": "track",
            "userId": "u1",
            "event": f"E{i}",
            "timestamp": (base - timedelta(minutes=i % 3)).isoformat(),
        }
        for i in range(7)
    ]
    _ingest(ctx, source_id, messages)
    with ctx.store.begin() as conn:
        conn.execute(text("UPDATE events SET profile_id = 'prf_1'"))
    seen: list[str] = []
    cursor = None
    with ctx.store.read() as conn:
        while True:
            page, cursor = service.list_events(
                conn, workspace_id=ctx.workspace_id, profile_ids=["prf_1"], cursor=cursor, limit=3
            )
            seen += [e.event or "" for e in page]
            if cursor is None:
                break
    # minute offsets 0: E0,E3,E6; 1: E1,E4; 2: E2,E5 — newest first, later seq first on ties
    assert seen == ["E6", "E3", "E0", "E4", "E1", "E5", "E2"]
