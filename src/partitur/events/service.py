"""Use cases of the events domain: ingestion (events/ingest.py), bulk import
(events/bulk_import.py), fan-out of one event to an audience, the quarantine, and what other
domains read from the event log (events/reads.py, events/resolution.py) — all through here."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import ValidationFailed
from partitur.events import repository
from partitur.events.bulk_import import DEFAULT_CHUNK as DEFAULT_CHUNK
from partitur.events.bulk_import import import_events as import_events
from partitur.events.bulk_import import parse_mapping_pairs as parse_mapping_pairs
from partitur.events.contracts import (
    DayVolume,
    EventVolume,
    IngestResult,
    QuarantinedMessage,
    SourceVolume,
    StoredEvent,
)
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
from partitur.workspaces import service as workspaces
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


#: ``event_volume`` scans the event log. Its figures are kept while no event arrives (the log's
#: highest ``seq`` is unchanged), and while events keep arriving for up to this long: a log
#: that grows all the time would otherwise be scanned at every look at the overview.
VOLUME_TOLERANCE = timedelta(seconds=30)
_volume_cache: dict[tuple[str, int], tuple[tuple[Any, ...], int | None, datetime, EventVolume]] = {}
_volume_lock = threading.Lock()


def event_volume(
    conn: Connection, *, workspace_id: str, now: datetime, days: int = 30
) -> EventVolume:
    """Totals of the event log and the events per UTC day and source over ``days`` days that
    end on the day of the newest event, or today if that is earlier (imported history may end
    before today); at most ``VOLUME_TOLERANCE`` behind the log. Raises ``ValidationFailed``
    for ``days`` outside 1..366."""
    if not 1 <= days <= 366:
        raise ValidationFailed("days is between 1 and 366", field="days")
    quarantined = repository.count_quarantine(conn, workspace_id=workspace_id)
    key = (now.date(), quarantined)
    seq = repository.highest_seq(conn)
    with _volume_lock:
        cached = _volume_cache.get((workspace_id, days))
    if cached is not None and cached[0] == key:
        _, cached_seq, computed_at, figures = cached
        if cached_seq == seq or now - computed_at < VOLUME_TOLERANCE:
            return figures
    rows = repository.volume_by_day_and_source(
        conn, workspace_id=workspace_id, recent_since=now - timedelta(days=1)
    )
    newest = max((r[4] for r in rows), default=None)
    until = min(now, newest) if newest is not None else now
    first_day = (until.astimezone(UTC) - timedelta(days=days - 1)).date()
    per_day: dict[date, dict[str, int]] = {first_day + timedelta(days=k): {} for k in range(days)}
    per_source: dict[str, int] = {}
    for day_text, source_id, n, _, _ in rows:
        bucket = per_day.get(date.fromisoformat(day_text))
        if bucket is None:
            continue  # before the period, or stamped after its last day
        bucket[source_id] = bucket.get(source_id, 0) + n
        per_source[source_id] = per_source.get(source_id, 0) + n
    names = {s.id: s.name for s in workspaces.list_sources(conn, workspace_id=workspace_id)}
    volume = EventVolume(
        events=sum(r[2] for r in rows),
        events_last_day=sum(r[3] for r in rows),
        quarantined=quarantined,
        first_day=first_day,
        last_day=first_day + timedelta(days=days - 1),
        period_total=sum(per_source.values()),
        sources=[
            SourceVolume(source_id=s, name=names.get(s, "other"), events=n)
            for s, n in sorted(per_source.items(), key=lambda item: (-item[1], item[0]))
        ],
        days=[DayVolume(day=d, total=sum(by.values()), by_source=by) for d, by in per_day.items()],
    )
    with _volume_lock:
        _volume_cache[(workspace_id, days)] = (key, seq, now, volume)
    return volume
