"""Queries on the event log and the quarantine (the service is the only caller)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from partitur.events.tables import events, quarantine

#: Columns written on ingestion; ``seq`` is assigned by the store, ``profile_id`` by identity.
INSERT_COLUMNS = (
    "workspace_id",
    "source_id",
    "message_id",
    "type",
    "event",
    "user_id",
    "anonymous_id",
    "timestamp",
    "original_timestamp",
    "sent_at",
    "received_at",
    "properties",
    "traits",
    "context",
    "extra",
)
_TIME_COLUMNS = frozenset({"timestamp", "original_timestamp", "sent_at", "received_at"})
_JSON_COLUMNS = frozenset({"properties", "traits", "context", "extra"})

_SQLITE_INSERT = (
    f"INSERT INTO events ({', '.join(INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in INSERT_COLUMNS)}) "
    "ON CONFLICT (workspace_id, source_id, message_id) DO NOTHING"
)


def _sqlite_time(moment: datetime | None) -> str | None:
    # The text form SQLAlchemy's SQLite DateTime stores (UTC, always with microseconds), so rows
    # written here read back exactly like rows written through the table definition.
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # "YYYY-MM-DD HH:MM:SS.ffffff+00:00" without the offset
    return moment.isoformat(" ", "microseconds")[:26]


def _sqlite_json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def sqlite_params(
    workspace_id: str, source_id: str, row: dict[str, Any], received_text: str | None = None
) -> tuple[Any, ...]:
    """One row as the positional parameters of the SQLite insert (pre-serialised).
    ``received_text`` is ``row["received_at"]`` already formatted (the same for a whole batch).
    """
    received = row["received_at"]
    timestamp = row["timestamp"]
    received_str = received_text or _sqlite_time(received)
    return (
        workspace_id,
        source_id,
        row["message_id"],
        row["type"],
        row["event"],
        row["user_id"],
        row["anonymous_id"],
        received_str if timestamp is received else _sqlite_time(timestamp),
        _sqlite_time(row["original_timestamp"]),
        _sqlite_time(row["sent_at"]),
        received_str,
        _sqlite_json(row["properties"]),
        _sqlite_json(row["traits"]),
        _sqlite_json(row["context"]),
        _sqlite_json(row["extra"]),
    )


def sqlite_param_rows(
    workspace_id: str, source_id: str, rows: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """``sqlite_params`` of many rows: the same values, computed inline (bulk imports spend a
    quarter of their Python time here), each time formatted once per row."""
    if not rows:
        return []
    first = rows[0]["received_at"]
    first_text = _sqlite_time(first)
    dumps, time_text = orjson.dumps, _sqlite_time
    out: list[tuple[Any, ...]] = []
    append = out.append
    for row in rows:
        received = row["received_at"]
        received_text = first_text if received is first else time_text(received)
        timestamp = row["timestamp"]
        original = row["original_timestamp"]
        timestamp_text = received_text if timestamp is received else time_text(timestamp)
        if original is None:
            original_text = None
        elif original is timestamp:
            original_text = timestamp_text
        else:
            original_text = time_text(original)
        sent = row["sent_at"]
        properties, traits, context, extra = (
            row["properties"],
            row["traits"],
            row["context"],
            row["extra"],
        )
        append(
            (
                workspace_id,
                source_id,
                row["message_id"],
                row["type"],
                row["event"],
                row["user_id"],
                row["anonymous_id"],
                timestamp_text,
                original_text,
                None if sent is None else time_text(sent),
                received_text,
                None if properties is None else dumps(properties).decode(),
                None if traits is None else dumps(traits).decode(),
                None if context is None else dumps(context).decode(),
                None if extra is None else dumps(extra).decode(),
            )
        )
    return out


def insert_events(
    conn: Connection, *, workspace_id: str, source_id: str, rows: Sequence[dict[str, Any]]
) -> int:
    """Insert rows, skipping those whose (workspace, source, message id) is stored already.

    One set-based statement per call. Returns how many rows were new.
    """
    if not rows:
        return 0
    if conn.dialect.name == "sqlite":
        params = sqlite_param_rows(workspace_id, source_id, rows)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(_SQLITE_INSERT, params)
            # sqlite3 sums the changes of every execution; conflicts change nothing.
            return int(cursor.rowcount)
        finally:
            cursor.close()
    stmt = (
        pg_insert(events)
        .on_conflict_do_nothing(index_elements=["workspace_id", "source_id", "message_id"])
        .returning(events.c.seq)
    )
    values = [{**row, "workspace_id": workspace_id, "source_id": source_id} for row in rows]
    return len(conn.execute(stmt, values).all())


def insert_sqlite_params(conn: Connection, params: Sequence[tuple[Any, ...]]) -> int:
    """Insert pre-serialised SQLite rows (bulk import); returns how many rows were new."""
    if not params:
        return 0
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(_SQLITE_INSERT, params)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def insert_quarantine(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Quarantine rows; those with a ``dedupe_key`` stored already are skipped."""
    if not rows:
        return
    values = [{"dedupe_key": None, **row} for row in rows]
    if conn.dialect.name == "sqlite":
        stmt: Any = sqlite_insert(quarantine).on_conflict_do_nothing()
    else:
        stmt = pg_insert(quarantine).on_conflict_do_nothing()
    conn.execute(stmt, values)


def select_events(
    conn: Connection, *, workspace_id: str, profile_ids: list[str], cursor: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first by (timestamp, seq); ``cursor`` is the seq of the last row already seen."""
    query = select(*[c for c in events.c if c.name != "workspace_id"]).where(
        events.c.workspace_id == workspace_id, events.c.profile_id.in_(profile_ids)
    )
    if cursor is not None:
        after = select(events.c.timestamp).where(events.c.seq == cursor).scalar_subquery()
        query = query.where(
            or_(
                events.c.timestamp < after,
                and_(events.c.timestamp == after, events.c.seq < cursor),
            )
        )
    query = query.order_by(events.c.timestamp.desc(), events.c.seq.desc()).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]


def select_quarantine(
    conn: Connection, *, workspace_id: str, cursor: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first by id; ``cursor`` is the id of the last row already seen."""
    query = select(
        *[c for c in quarantine.c if c.name not in ("workspace_id", "dedupe_key")]
    ).where(quarantine.c.workspace_id == workspace_id)
    if cursor is not None:
        query = query.where(quarantine.c.id < cursor)
    query = query.order_by(quarantine.c.id.desc()).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]
