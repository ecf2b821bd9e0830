"""Use cases of the events domain: ingestion (events/ingest.py), bulk import
(events/bulk_import.py), fan-out of one event to an audience, the quarantine, and what other
domains read from the event log (events/reads.py, events/resolution.py) — all through here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.core.actions import Actor, Permission, action, describe
from partitur.events import repository
from partitur.events.bulk_import import DEFAULT_CHUNK as DEFAULT_CHUNK
from partitur.events.bulk_import import import_events as import_events
from partitur.events.bulk_import import parse_mapping_pairs as parse_mapping_pairs
from partitur.events.contracts import IngestResult, QuarantinedMessage, StoredEvent
from partitur.events.ingest import PreparedBatch as PreparedBatch
from partitur.events.ingest import content_message_id as content_message_id
from partitur.events.ingest import ingest_messages as ingest_messages
from partitur.events.ingest import normalize as normalize
from partitur.events.ingest import prepare as prepare
from partitur.events.ingest import prepare_fan_out as prepare_fan_out
from partitur.events.ingest import prepare_staged as prepare_staged
from partitur.events.ingest import stage_attached as stage_attached
from partitur.events.ingest import write_prepared as write_prepared
from partitur.events.reads import backlog_after as backlog_after
from partitur.events.reads import event_frame as event_frame
from partitur.events.reads import event_texts as event_texts
from partitur.events.reads import events_after as events_after
from partitur.events.reads import events_between as events_between
from partitur.events.reads import latest_events as latest_events
from partitur.events.reads import matching_events as matching_events
from partitur.events.reads import order_events as order_events
from partitur.events.reads import profile_event_facts as profile_event_facts
from partitur.events.reads import touched_by_events as touched_by_events
from partitur.events.resolution import ProfileEvent as ProfileEvent
from partitur.events.resolution import delete_profile_events as delete_profile_events
from partitur.events.resolution import profile_events as profile_events
from partitur.workspaces.service import ensure_source


@action("events.fan_out", permission=Permission.ingest, subject="event", wakes=("events",))
def fan_out(
    conn: Connection,
    *,
    workspace_id: str,
    message: dict[str, Any],
    profile_ids: Sequence[str],
    source: str,
    now: datetime,
    actor: Actor,
) -> IngestResult:
    """Store one message for each of ``profile_ids`` (see ``prepare_fan_out``), as sent by the
    source named ``source`` (made if it does not exist)."""
    source_id = ensure_source(conn, workspace_id=workspace_id, name=source, now=now).id
    batch = prepare_fan_out(
        message,
        profile_ids=profile_ids,
        workspace_id=workspace_id,
        source_id=source_id,
        received_at=now,
    )
    result = write_prepared(conn, batch)
    describe(
        subject_id=str(message.get("event") or message.get("type") or "event")[:200],
        details={"profiles": len(profile_ids), "accepted": result.accepted},
    )
    return result


def list_events(
    conn: Connection,
    *,
    workspace_id: str,
    profile_ids: list[str],
    cursor: int | None,
    limit: int,
) -> tuple[list[StoredEvent], int | None]:
    """Events of the given profiles, newest first (timestamp, then seq); returns the page and
    the cursor of the next page (None at the end)."""
    if not profile_ids:
        return [], None
    rows = repository.select_events(
        conn, workspace_id=workspace_id, profile_ids=profile_ids, cursor=cursor, limit=limit + 1
    )
    page = [StoredEvent.model_validate(r) for r in rows[:limit]]
    return page, (page[-1].seq if len(rows) > limit else None)


def list_quarantine(
    conn: Connection, *, workspace_id: str, cursor: int | None, limit: int
) -> tuple[list[QuarantinedMessage], int | None]:
    """Quarantined messages, newest first; returns the page and the next cursor."""
    rows = repository.select_quarantine(
        conn, workspace_id=workspace_id, cursor=cursor, limit=limit + 1
    )
    page = [QuarantinedMessage.model_validate(r) for r in rows[:limit]]
    return page, (page[-1].id if len(rows) > limit else None)
