"""Builders for journey tests: profiles and resolved events written straight to the store.

The events and profiles domains own these tables; tests use them directly only to arrange
state until those domains expose services for it.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from partitur.core.actions import Actor
from partitur.events.tables import events
from partitur.profiles.tables import profiles

_ids = itertools.count(1)


def add_profile(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    now: datetime,
    traits: dict[str, Any] | None = None,
    timezone: str | None = None,
    is_test: bool = False,
) -> str:
    conn.execute(
        profiles.insert().values(
            id=profile_id,
            workspace_id=workspace_id,
            created_at=now,
            updated_at=now,
            traits=traits or {},
            trait_times={},
            computed={},
            timezone=timezone,
            is_test=is_test,
        )
    )
    return profile_id


def ensure_profiles(
    conn: Connection, *, workspace_id: str, profile_ids: list[str], now: datetime
) -> None:
    """Add the profiles of ``profile_ids`` that the workspace does not have yet (enrolment
    takes only profiles the workspace has)."""
    have = set(
        conn.execute(
            select(profiles.c.id).where(
                profiles.c.workspace_id == workspace_id, profiles.c.id.in_(profile_ids)
            )
        ).scalars()
    )
    for pid in dict.fromkeys(profile_ids):
        if pid not in have:
            add_profile(conn, workspace_id=workspace_id, profile_id=pid, now=now)


def add_event(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    event: str,
    at: datetime,
    properties: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        events.insert().values(
            workspace_id=workspace_id,
            source_id="src_test",
            message_id=f"m{next(_ids)}-{profile_id}",
            type="track",
            event=event,
            user_id=profile_id,
            profile_id=profile_id,
            timestamp=at,
            received_at=at,
            properties=properties or {},
        )
    )
    mark_resolved(conn, at)


def add_events(
    conn: Connection, *, workspace_id: str, rows: list[tuple[str, str, datetime]]
) -> None:
    """Many (profile_id, event, at) rows in one statement."""
    conn.execute(
        events.insert(),
        [
            {
                "workspace_id": workspace_id,
                "source_id": "src_test",
                "message_id": f"m{next(_ids)}-{pid}",
                "type": "track",
                "event": name,
                "user_id": pid,
                "profile_id": pid,
                "timestamp": at,
                "received_at": at,
                "properties": {},
            }
            for pid, name, at in rows
        ],
    )
    if rows:
        mark_resolved(conn, rows[-1][2])


def mark_resolved(conn: Connection, now: datetime) -> None:
    """Tell the event consumers that identity resolution has seen every event so far (the
    builders above write ``profile_id`` themselves instead of running the resolver). Without
    the identity domain, the consumers read every event that has a ``profile_id``."""
    import importlib.util

    from sqlalchemy import func, select

    from partitur.storage.cursors import set_position

    if importlib.util.find_spec("partitur.identity.service") is None:
        return
    from partitur.identity.service import CURSOR

    position = conn.execute(select(func.max(events.c.seq))).scalar() or 0
    set_position(conn, CURSOR, int(position), now)


def channels_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("partitur.channels.service") is not None


def add_templates(
    conn: Connection, *, workspace_id: str, refs: set[tuple[str, str]], now: datetime
) -> None:
    """Create a plain template for each (channel, key) a journey sends, so that publishing
    passes the channels' template check."""
    if not channels_installed():
        return
    from partitur.channels import service as channels
    from partitur.channels.contracts import TemplateIn

    for channel, key in sorted(refs):
        channels.save_template(
            conn,
            workspace_id=workspace_id,
            template=TemplateIn(
                key=key,
                channel=channel,  # type: ignore[arg-type]
                subject="Hello" if channel == "email" else None,
                body_text="Hello",
                # marked as an admin would: the example journeys send some as transactional
                transactional=True,
            ),
            now=now,
            actor=Actor.system(workspace_id, "test"),
        )


def outbox_table() -> Any:
    """Where sends land: the channels outbox (``messages``) or the journeys' fallback."""
    if channels_installed():
        from partitur.channels.tables import messages

        return messages
    from partitur.journeys.tables import journey_sends

    return journey_sends


def sent(conn: Connection) -> list[tuple[str, str, str]]:
    """(profile_id, template, idempotency key) of every send handed to the channels, in time
    order (the channels outbox when installed, else the journeys' fallback outbox)."""
    from sqlalchemy import select

    outbox = outbox_table()
    rows = conn.execute(
        select(outbox.c.profile_id, outbox.c.template, outbox.c.idempotency_key).order_by(
            outbox.c.created_at, outbox.c.idempotency_key
        )
    ).all()
    return [(r[0], r[1] or "", r[2]) for r in rows]
