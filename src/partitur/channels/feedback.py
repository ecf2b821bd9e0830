"""Delivery outcomes come back in as ordinary events (``message.sent``, ``message.opened``, ...).

One function, ``record_delivery_events``, hands Segment track messages to the events domain's
``ingest_messages`` through the internal source ``partitur``. Until that service exists, the
events are appended to the event log directly (same shape), so journeys and analytics see them.
"""

from __future__ import annotations

import importlib
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.core.clock import isoformat, parse_iso8601
from partitur.events.contracts import PROFILE_ANONYMOUS_PREFIX
from partitur.workspaces.service import ensure_source

log = logging.getLogger(__name__)


def delivery_event(
    *,
    name: str,
    message: dict[str, Any],
    at: datetime,
    user_id: str | None,
    extra: dict[str, Any] | None = None,
    seq: int = 0,
) -> dict[str, Any]:
    """A Segment track message for one delivery outcome of one outbox message."""
    suffix = f":{seq}" if seq else ""
    properties = {
        "message_id": message["id"],
        "channel": message["channel"],
        "journey_id": message.get("journey_id"),
        "journey_version": message.get("journey_version"),
        "node_id": message.get("node_id"),
        "template": message.get("template"),
        "category": message.get("category"),
        **(extra or {}),
    }
    event: dict[str, Any] = {
        "type": "track",
        "event": f"message.{name}",
        "messageId": f"{message['id']}:{name}{suffix}",
        "timestamp": isoformat(at),
        "properties": properties,
        "context": {"partitur": {"profile_id": message["profile_id"]}},
    }
    if user_id:
        event["userId"] = user_id
    else:
        event["anonymousId"] = PROFILE_ANONYMOUS_PREFIX + message["profile_id"]
    return event


def record_delivery_events(
    conn: Connection,
    *,
    workspace_id: str,
    events: list[dict[str, Any]],
    profile_ids: list[str],
    now: datetime,
) -> None:
    """Ingest delivery events in the caller's transaction (``profile_ids`` parallel ``events``)."""
    if not events:
        return
    source = ensure_source(conn, workspace_id=workspace_id, name="partitur", now=now)
    try:
        service = importlib.import_module("partitur.events.service")
        ingest = service.ingest_messages
    except (ModuleNotFoundError, AttributeError):
        _append_directly(conn, workspace_id, source.id, events, profile_ids, now)
        return
    result = ingest(
        conn,
        workspace_id=workspace_id,
        source_id=source.id,
        messages=events,
        received_at=now,
        origin="channels",
    )
    for rejection in result.rejected:
        log.warning("delivery event rejected by ingestion: %s", rejection)


def _append_directly(
    conn: Connection,
    workspace_id: str,
    source_id: str,
    events: list[dict[str, Any]],
    profile_ids: list[str],
    now: datetime,
) -> None:
    from sqlalchemy import select

    from partitur.events.tables import events as event_log

    ids = [e["messageId"] for e in events]
    seen = set(
        conn.execute(
            select(event_log.c.message_id).where(
                event_log.c.workspace_id == workspace_id,
                event_log.c.source_id == source_id,
                event_log.c.message_id.in_(ids),
            )
        ).scalars()
    )
    rows = []
    for event, profile_id in zip(events, profile_ids, strict=True):
        if event["messageId"] in seen:
            continue
        seen.add(event["messageId"])
        rows.append(
            {
                "workspace_id": workspace_id,
                "source_id": source_id,
                "message_id": event["messageId"],
                "type": "track",
                "event": event["event"],
                "user_id": event.get("userId"),
                "anonymous_id": event.get("anonymousId"),
                "profile_id": profile_id,
                "timestamp": parse_iso8601(event["timestamp"]),
                "received_at": now,
                "properties": event["properties"],
                "context": event["context"],
            }
        )
    if rows:
        conn.execute(event_log.insert(), rows)
