"""Test builder: put Segment-like messages straight into the event log (as ingestion would)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from partitur.events.tables import events


def message(
    type_: str = "track",
    *,
    at: datetime,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    event: str | None = None,
    properties: dict[str, Any] | None = None,
    traits: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    source_id: str = "src_test",
    message_id: str | None = None,
) -> dict[str, Any]:
    return {
        "type": type_,
        "timestamp": at,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "event": event,
        "properties": properties,
        "traits": traits,
        "context": context,
        "extra": extra,
        "source_id": source_id,
        "message_id": message_id or uuid.uuid4().hex,
    }


def insert_events(conn: Connection, workspace_id: str, rows: list[dict[str, Any]]) -> list[int]:
    """Insert messages (from ``message``) with ``profile_id`` NULL; returns their seqs."""
    seqs = []
    for row in rows:
        values = {
            "workspace_id": workspace_id,
            "original_timestamp": None,
            "sent_at": None,
            "received_at": row["timestamp"] + timedelta(milliseconds=5),
            **row,
        }
        seqs.append(int(conn.execute(events.insert().values(**values)).inserted_primary_key[0]))
    return seqs
