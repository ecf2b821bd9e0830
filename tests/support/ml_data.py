"""Small builders for ml and decisions tests: profiles and events written straight to the
store (the shape identity resolution leaves behind)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.events.tables import events
from partitur.profiles.tables import profiles

_counter = itertools.count(1)


def add_profile(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    now: datetime,
    traits: dict[str, Any] | None = None,
    computed: dict[str, Any] | None = None,
) -> str:
    conn.execute(
        profiles.insert().values(
            id=profile_id,
            workspace_id=workspace_id,
            created_at=now,
            updated_at=now,
            traits=traits or {},
            trait_times={},
            computed=computed or {},
            is_test=False,
        )
    )
    return profile_id


def add_events(
    conn: Connection,
    *,
    workspace_id: str,
    rows: Iterable[tuple[str, str, datetime, dict[str, Any] | None]],
) -> int:
    """Insert ``(profile_id, event name, timestamp, properties)`` track events."""
    batch = [
        {
            "workspace_id": workspace_id,
            "source_id": "src_test",
            "message_id": f"m{next(_counter)}",
            "type": "track",
            "event": name,
            "user_id": pid,
            "profile_id": pid,
            "timestamp": at,
            "received_at": at,
            "properties": props or {},
        }
        for pid, name, at, props in rows
    ]
    if batch:
        conn.execute(events.insert(), batch)
    return len(batch)
