"""Delivery outcomes come back in as ordinary events (``message.sent``, ``message.opened``, ...).

One function, ``record_delivery_events``, hands Segment track messages to the events domain's
``ingest_messages`` through the internal source ``partitur``, so journeys and analytics see
them like any other event; ``emit_events`` builds them from outbox rows.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.channels.recipients import Recipient
from partitur.core.clock import isoformat
from partitur.events import service as event_log
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
    now: datetime,
) -> None:
    """Ingest delivery events in the caller's transaction."""
    if not events:
        return
    source = ensure_source(conn, workspace_id=workspace_id, name="partitur", now=now)
    result = event_log.ingest_messages(
        conn,
        workspace_id=workspace_id,
        source_id=source.id,
        messages=events,
        received_at=now,
        origin="channels",
    )
    for rejection in result.rejected:
        log.warning("delivery event rejected by ingestion: %s", rejection)


def emit_events(
    conn: Connection,
    *,
    workspace_id: str,
    items: list[tuple[str, dict[str, Any], dict[str, Any]]],
    now: datetime,
    recipients: dict[str, Recipient] | None = None,
) -> None:
    """Record delivery events ``(name, message row, extra properties)`` of one workspace; a
    known recipient's external id becomes the event's ``userId``. An ``_seq`` in the extra
    properties tells apart repeats of one event name on one message (clicks, bounces); an
    ``_at`` there dates the event (a replayed send's outcomes happened when it was made),
    otherwise it happens at ``now``."""
    if not items:
        return
    known = recipients or {}
    events = []
    for name, row, extra in items:
        rec = known.get(row["profile_id"])
        seq = int(extra.pop("_seq", 0))
        at = extra.pop("_at", None) or now
        events.append(
            delivery_event(
                name=name,
                message=row,
                at=at,
                user_id=rec.external_id if rec else None,
                extra=extra,
                seq=seq,
            )
        )
    record_delivery_events(conn, workspace_id=workspace_id, events=events, now=now)
