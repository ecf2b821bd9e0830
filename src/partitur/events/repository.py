"""Queries on the event log and the quarantine (the service is the only caller)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, case, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from partitur.events.tables import events, quarantine
from partitur.storage.bulk import sqlite_time

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


#: Columns of a staging file: the insert columns without those that are the same for a whole
#: import chunk (workspace, source, received_at), which the copy adds as parameters.
STAGE_COLUMNS = tuple(
    c for c in INSERT_COLUMNS if c not in ("workspace_id", "source_id", "received_at")
)
#: Staged columns that may be NULL: staged as '' (never a valid value of any of them: blank
#: identifiers count as missing, times and JSON documents are never empty), because binding
#: None in Python's sqlite3 goes through its adaptation lookup (~0.25 us a value, measured;
#: bytes too, ~0.3 us, which is why JSON is staged as str). Only int, float and str bind fast.
_STAGE_NULLABLE = frozenset(
    {
        "event",
        "user_id",
        "anonymous_id",
        "original_timestamp",
        "sent_at",
        "properties",
        "traits",
        "context",
        "extra",
    }
)
_STAGE_TABLE = "staged_events"


def _stage_select(column: str) -> str:
    if column not in STAGE_COLUMNS:
        return "?"
    return f"NULLIF({column}, '')" if column in _STAGE_NULLABLE else column


_STAGE_COPY = (
    f"INSERT INTO events ({', '.join(INSERT_COLUMNS)}) "
    f"SELECT {', '.join(_stage_select(c) for c in INSERT_COLUMNS)} "
    # rowid order is file order: the first of two rows with one messageId wins, as with
    # executemany; "WHERE true" keeps ON CONFLICT from being read as a join constraint
    f"FROM stage.{_STAGE_TABLE} WHERE true ORDER BY rowid "
    "ON CONFLICT (workspace_id, source_id, message_id) DO NOTHING"
)


def _sqlite_time(moment: datetime | None) -> str | None:
    # rows written here read back exactly like rows written through the table definition
    return None if moment is None else sqlite_time(moment)


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
    """``sqlite_params`` of many rows (the API's inserts): the same values, computed inline,
    each time formatted once per row. Bulk imports stage their rows instead (``write_stage``)."""
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


def write_stage(path: str, fields: Iterable[tuple[Any, ...]], received_at: datetime) -> int:
    """Write validated messages (the field tuples of ``service._fields``, all received at
    ``received_at``) to a new staging SQLite file for ``insert_from_stage``; returns how many.
    The file is scratch: no journal, no fsync, no index."""
    staged = sqlite3.connect(path, isolation_level=None)
    try:
        staged.execute("PRAGMA journal_mode=OFF")
        staged.execute("PRAGMA synchronous=OFF")
        staged.execute("PRAGMA locking_mode=EXCLUSIVE")
        staged.execute(f"CREATE TABLE {_STAGE_TABLE} ({', '.join(STAGE_COLUMNS)})")
        staged.execute("BEGIN")
        cursor = staged.executemany(
            f"INSERT INTO {_STAGE_TABLE} VALUES ({', '.join('?' for _ in STAGE_COLUMNS)})",
            _stage_values(fields, received_at),
        )
        count = cursor.rowcount
        staged.execute("COMMIT")
    finally:
        staged.close()
    return count


def _stage_values(
    fields: Iterable[tuple[Any, ...]], received_at: datetime
) -> Iterator[tuple[Any, ...]]:
    # the STAGE_COLUMNS of each message, '' for NULL; times are formatted from the text they
    # were read from when it is the usual UTC form (``_iso_text``), each once
    received_text = sqlite_time(received_at)
    dumps, iso_text, time_text = orjson.dumps, _iso_text, sqlite_time
    for (
        message_id,
        kind,
        name,
        user_id,
        anonymous_id,
        timestamp,
        original,
        sent_at,
        properties,
        traits,
        context,
        extra,
        original_value,
        sent_value,
    ) in fields:
        original_text = "" if original is None else iso_text(original_value, original)
        if timestamp is received_at:
            timestamp_text = received_text
        elif timestamp is original:
            timestamp_text = original_text
        else:
            timestamp_text = time_text(timestamp)
        yield (
            message_id,
            kind,
            name or "",
            user_id or "",
            anonymous_id or "",
            timestamp_text,
            original_text,
            "" if sent_at is None else iso_text(sent_value, sent_at),
            "" if properties is None else dumps(properties).decode(),
            "" if traits is None else dumps(traits).decode(),
            "" if context is None else dumps(context).decode(),
            "" if extra is None else dumps(extra).decode(),
        )


def _iso_text(value: str, moment: datetime) -> str:
    """``_sqlite_time(moment)`` for ``moment`` parsed from ``value``: for the usual UTC forms
    (``2026-01-01T10:00:00Z``, with 3 or 6 decimals) a re-arrangement of the text, which
    ``datetime.fromisoformat`` has already checked."""
    size = len(value)
    if (
        (size == 20 or size == 24 or size == 27)
        and value[-1] == "Z"
        and value[4] == "-"
        and value[7] == "-"
        and value[13] == ":"
        and value[16] == ":"
    ):
        if size == 20:
            return value[:10] + " " + value[11:19] + ".000000"
        if value[19] == ".":
            return value[:10] + " " + (value[11:23] + "000" if size == 24 else value[11:26])
    return sqlite_time(moment)


@contextlib.contextmanager
def stage_attached(conn: Connection, path: str) -> Iterator[None]:
    """Attach a staging file to the SQLite connection as ``stage`` (outside a transaction:
    SQLite cannot attach inside one)."""
    raw = conn.connection.driver_connection
    raw.execute("ATTACH DATABASE ? AS stage", (path,))  # type: ignore[union-attr]
    try:
        yield
    finally:
        raw.execute("DETACH DATABASE stage")  # type: ignore[union-attr]


def insert_from_stage(
    conn: Connection, *, workspace_id: str, source_id: str, received_at: datetime
) -> int:
    """Copy the attached staging file's rows into ``events`` in one statement, inside SQLite
    (no Python per row), skipping stored (workspace, source, message id); returns how many
    rows were new."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_STAGE_COPY, (workspace_id, source_id, sqlite_time(received_at)))
        return int(cursor.rowcount)
    finally:
        cursor.close()


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


def _day_expr(conn: Connection) -> Any:
    """The UTC day of an event as ``YYYY-MM-DD`` text (SQLite stores UTC ISO text)."""
    ts = events.c.timestamp
    if conn.dialect.name == "sqlite":
        return func.substr(ts, 1, 10)
    # literals, not bound parameters: GROUP BY must repeat the very same expression
    utc = func.timezone(literal_column("'UTC'"), ts)
    return func.to_char(utc, literal_column("'YYYY-MM-DD'"))


def highest_seq(conn: Connection) -> int | None:
    """The log's highest ``seq`` (of any workspace: it changes with every write)."""
    return conn.execute(select(func.max(events.c.seq))).scalar_one()  # type: ignore[no-any-return]


def count_quarantine(conn: Connection, *, workspace_id: str) -> int:
    query = (
        select(func.count())
        .select_from(quarantine)
        .where(quarantine.c.workspace_id == workspace_id)
    )
    return int(conn.execute(query).scalar_one())


def volume_by_day_and_source(
    conn: Connection, *, workspace_id: str, recent_since: datetime
) -> list[tuple[str, str, int, int, datetime]]:
    """(UTC day as text, source id, events, events at or after ``recent_since``, latest
    timestamp) for every day and source of the workspace's log: one scan gives the totals, the
    newest event and the volume per day."""
    day = _day_expr(conn).label("day")
    recent = case((events.c.timestamp >= recent_since, 1), else_=0)
    rows = conn.execute(
        select(
            day,
            events.c.source_id,
            func.count().label("n"),
            func.sum(recent).label("recent"),
            func.max(events.c.timestamp).label("newest"),
        )
        .where(events.c.workspace_id == workspace_id)
        .group_by(day, events.c.source_id)
    ).all()
    return [(str(d), str(src), int(n), int(r or 0), newest) for d, src, n, r, newest in rows]
