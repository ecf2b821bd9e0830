"""The event log's side of identity resolution: reading events to resolve and (re)pointing
``events.profile_id``. Everything here is set-based (one statement per batch, not per event).

Identity and profiles call these functions; they never touch the ``events`` table themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, and_, delete, func, or_, select

from partitur.events.tables import events
from partitur.storage.scratch import insert_rows, temp_table


class EventToResolve(NamedTuple):
    seq: int
    workspace_id: str
    type: str
    user_id: str | None
    anonymous_id: str | None
    timestamp: Any  # raw from the driver; see event_time
    traits: Any
    context_traits: Any
    external_ids: Any
    previous_id: Any
    timezone: Any
    locale: Any
    event: str | None
    source_id: str
    channel: Any
    #: the order value of an ``Order Completed`` event, else None
    order_value: float | None


def pending_seqs(conn: Connection, *, after: int, limit: int) -> list[int]:
    """The next ``limit`` committed event seqs after ``after``, ascending."""
    rows = conn.execute(
        select(events.c.seq).where(events.c.seq > after).order_by(events.c.seq).limit(limit)
    )
    return [r[0] for r in rows]


def pending_window(conn: Connection, *, after: int, limit: int) -> tuple[int, int]:
    """How many of the next ``limit`` committed events after ``after`` there are, and the
    highest seq among them (0 if none), without fetching them."""
    window = (
        select(events.c.seq).where(events.c.seq > after).order_by(events.c.seq).limit(limit)
    ).subquery()
    row = conn.execute(
        select(func.count(), func.coalesce(func.max(window.c.seq), 0)).select_from(window)
    ).one()
    return int(row[0]), int(row[1])


def max_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar_one())


_NUMBER = r"'^\s*-?[0-9]+(\.[0-9]+)?\s*$'"
#: ``Order Completed`` events count as orders; their ``revenue`` (else ``total``) property is
#: the order value. The channel is ``context.channel``, else top-level ``channel``.
_TO_RESOLVE = {
    "sqlite": (
        "SELECT seq, workspace_id, type, user_id, anonymous_id, timestamp, traits, "
        "json_extract(context, '$.traits'), json_extract(context, '$.externalIds'), "
        "json_extract(extra, '$.previousId'), json_extract(context, '$.timezone'), "
        "json_extract(context, '$.locale'), event, source_id, "
        "COALESCE(json_extract(context, '$.channel'), json_extract(extra, '$.channel')), "
        "CASE WHEN event = 'Order Completed' THEN "
        "COALESCE(CAST(json_extract(properties, '$.revenue') AS REAL), "
        "CAST(json_extract(properties, '$.total') AS REAL), 0) END "
        "FROM events WHERE seq > ? AND seq <= ? AND profile_id IS NULL ORDER BY seq"
    ),
    "postgresql": (
        "SELECT seq, workspace_id, type, user_id, anonymous_id, timestamp, traits::text, "
        "(context->'traits')::text, (context->'externalIds')::text, extra->>'previousId', "
        "context->>'timezone', context->>'locale', event, source_id, "
        "COALESCE(context->>'channel', extra->>'channel'), "
        "CASE WHEN event = 'Order Completed' THEN "
        f"CASE WHEN (properties->>'revenue') ~ {_NUMBER} THEN (properties->>'revenue')::float8 "
        f"WHEN (properties->>'total') ~ {_NUMBER} THEN (properties->>'total')::float8 "
        "ELSE 0 END END "
        "FROM events WHERE seq > %s AND seq <= %s AND profile_id IS NULL ORDER BY seq"
    ),
}


def _doc(raw: Any) -> Any:
    if raw is None or raw == "null":
        return None
    if isinstance(raw, str):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
    return raw


def _moment(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    return datetime.fromisoformat(raw).replace(tzinfo=UTC)


def events_to_resolve(conn: Connection, *, after: int, upto: int) -> Iterator[EventToResolve]:
    """Unresolved events with ``after < seq <= upto``: the fields identity resolution reads.

    JSON documents are parsed only where present (most events carry no traits)."""
    sql = _TO_RESOLVE["sqlite" if conn.dialect.name == "sqlite" else "postgresql"]
    for row in conn.exec_driver_sql(sql, (after, upto)):
        (seq, ws, type_, user_id, anon, ts, traits, ctraits, ext, prev, tz, locale) = row[:12]
        yield EventToResolve(
            seq,
            ws,
            type_,
            user_id,
            anon,
            ts,
            _doc(traits) if traits is not None else None,
            _doc(ctraits) if ctraits is not None else None,
            _doc(ext) if ext is not None else None,
            prev,
            tz,
            locale,
            row[12],
            row[13],
            row[14],
            float(row[15]) if row[15] is not None else None,
        )


def event_time(raw: Any) -> datetime:
    """``EventToResolve.timestamp`` as an aware datetime (kept raw until needed)."""
    return _moment(raw)


def assign_profiles(conn: Connection, assignments: Sequence[tuple[int, str]]) -> None:
    """Set ``profile_id`` for the given (seq, profile_id) pairs in one statement."""
    temp_table(conn, "tmp_event_profiles", "seq BIGINT PRIMARY KEY, profile_id VARCHAR(40)")
    if not assignments:
        return
    insert_rows(conn, "tmp_event_profiles", ("seq", "profile_id"), assignments)
    if conn.dialect.name == "sqlite":
        # drive the update from the scratch table (rowid lookups), not a scan of the log
        conn.exec_driver_sql(
            "UPDATE events SET profile_id = (SELECT t.profile_id FROM tmp_event_profiles t "
            "WHERE t.seq = events.seq) WHERE seq IN (SELECT seq FROM tmp_event_profiles)"
        )
        return
    conn.exec_driver_sql(
        "UPDATE events SET profile_id = t.profile_id FROM tmp_event_profiles t "
        "WHERE events.seq = t.seq"
    )


def repoint_profiles(conn: Connection, moves: Mapping[str, str]) -> None:
    """Move every event of each merged profile (key) to its survivor (value)."""
    if not moves:
        return
    temp_table(conn, "tmp_event_moves", "old_id VARCHAR(40) PRIMARY KEY, new_id VARCHAR(40)")
    insert_rows(conn, "tmp_event_moves", ("old_id", "new_id"), list(moves.items()))
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "UPDATE events SET profile_id = (SELECT m.new_id FROM tmp_event_moves m "
            "WHERE m.old_id = events.profile_id) "
            "WHERE profile_id IN (SELECT old_id FROM tmp_event_moves)"
        )
        return
    conn.exec_driver_sql(
        "UPDATE events SET profile_id = m.new_id FROM tmp_event_moves m "
        "WHERE events.profile_id = m.old_id"
    )


def delete_events(conn: Connection, seqs: Iterable[int]) -> int:
    """Delete events by seq (suppressed identifiers); returns how many went."""
    wanted = [(s,) for s in seqs]
    if not wanted:
        return 0
    temp_table(conn, "tmp_event_drop", "seq BIGINT PRIMARY KEY")
    insert_rows(conn, "tmp_event_drop", ("seq",), wanted)
    result = conn.exec_driver_sql(
        "DELETE FROM events WHERE seq IN (SELECT seq FROM tmp_event_drop)"
    )
    return int(result.rowcount)


def first_unresolved_seq(conn: Connection, *, upto: int) -> int | None:
    """The lowest seq <= ``upto`` that still has no profile (late commits on PostgreSQL)."""
    row = conn.execute(
        select(func.min(events.c.seq)).where(events.c.profile_id.is_(None), events.c.seq <= upto)
    ).scalar_one()
    return int(row) if row is not None else None


def unresolved_seqs(conn: Connection, *, upto: int, limit: int) -> list[int]:
    rows = conn.execute(
        select(events.c.seq)
        .where(events.c.profile_id.is_(None), events.c.seq <= upto)
        .order_by(events.c.seq)
        .limit(limit)
    )
    return [r[0] for r in rows]


class ProfileEvent(NamedTuple):
    seq: int
    type: str
    event: str | None
    source_id: str
    message_id: str
    user_id: str | None
    anonymous_id: str | None
    timestamp: datetime
    received_at: datetime
    properties: Any
    traits: Any
    context: Any


def profile_events(
    conn: Connection,
    *,
    workspace_id: str,
    profile_ids: Sequence[str],
    before: tuple[datetime, int] | None = None,
    limit: int | None = None,
) -> list[ProfileEvent]:
    """The events of the given profiles, newest first (by timestamp, then seq); ``before`` is
    the (timestamp, seq) of the last event of the previous page."""
    stmt = select(
        events.c.seq,
        events.c.type,
        events.c.event,
        events.c.source_id,
        events.c.message_id,
        events.c.user_id,
        events.c.anonymous_id,
        events.c.timestamp,
        events.c.received_at,
        events.c.properties,
        events.c.traits,
        events.c.context,
    ).where(events.c.workspace_id == workspace_id, events.c.profile_id.in_(list(profile_ids)))
    if before is not None:
        ts, seq = before
        stmt = stmt.where(
            or_(events.c.timestamp < ts, and_(events.c.timestamp == ts, events.c.seq < seq))
        )
    stmt = stmt.order_by(events.c.timestamp.desc(), events.c.seq.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return [ProfileEvent._make(row) for row in conn.execute(stmt)]


def delete_profile_events(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str]
) -> int:
    """Erase every event of the given profiles; returns how many were deleted."""
    result = conn.execute(
        delete(events).where(
            events.c.workspace_id == workspace_id, events.c.profile_id.in_(list(profile_ids))
        )
    )
    return int(result.rowcount)
