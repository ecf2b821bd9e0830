"""The event log's side of identity resolution: reading events to resolve and (re)pointing
``events.profile_id``. Everything here is set-based (one statement per batch, not per event).

Identity and profiles call these functions; they never touch the ``events`` table themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, and_, delete, func, or_, select

from partitur.core.types import utc_moment
from partitur.events.tables import events
from partitur.storage import driver
from partitur.storage.bulk import (
    DenseKeys,
    dense_by_key,
    insert_dense,
    insert_rows,
    int_key,
    rebuilt_indexes,
    temp_table,
)


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


def _doc(raw: Any) -> Any:
    if raw is None or raw == "null":
        return None
    if isinstance(raw, str):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
    return raw


class ResolveUnit(NamedTuple):
    """Events of a batch summed up by the database: all of one (workspace, user_id,
    anonymous_id), or a single event (``per_event``) where those ids alone cannot say whose
    it is. Timestamps are raw from the driver (see ``event_time``)."""

    workspace_id: str
    user_id: str | None
    anonymous_id: str | None
    first_seq: int
    events: int
    first_ts: Any
    last_ts: Any
    orders: int
    revenue: float
    #: of the latest event (by timestamp, then seq): its seq, channel and source
    last_seq: int
    channel: str | None
    source_id: str
    #: the latest non-blank ``context.locale`` / ``context.timezone``, its seq and timestamp
    locale: Any
    locale_seq: int | None
    locale_ts: Any
    timezone: Any
    timezone_seq: int | None
    timezone_ts: Any
    #: the seqs of the unit's events as the database gave them (``group_concat`` text on
    #: SQLite, an array on PostgreSQL); ``seqs_of`` reads them
    seqs: Any
    per_event: bool


class IdentityDoc(NamedTuple):
    """An event that carries documents identity resolution reads: traits, ``context.traits``,
    ``context.externalIds`` or a ``previousId``. Most events carry none."""

    seq: int
    workspace_id: str
    type: str
    user_id: str | None
    anonymous_id: str | None
    timestamp: Any
    traits: Any
    context_traits: Any
    external_ids: Any
    previous_id: Any
    timezone: Any


def _nonblank(doc: str, path: str, dialect: str) -> str:
    if dialect == "sqlite":
        return (
            f"(json_type({doc}, '$.{path}') = 'text' "
            f"AND trim(json_extract({doc}, '$.{path}'), char(32, 9, 10, 13)) <> '')"
        )
    return (
        f"(jsonb_typeof({doc}->'{path}') = 'string' "
        f"AND btrim({doc}->>'{path}', E' \\t\\n\\r') <> '')"
    )


_NUMBER = r"'^\s*-?[0-9]+(\.[0-9]+)?\s*$'"
_RANGE = "seq > {m} AND seq <= {m} AND profile_id IS NULL"


def _units_sql(dialect: str, *, per_event: bool) -> str:
    """One row per unit. ``Order Completed`` events count as orders; their ``revenue`` (else
    ``total``) property is the order value. The channel is ``context.channel``, else top-level
    ``channel``; else (in the service) the source's name."""
    if dialect == "sqlite":
        # fixed width, so the text sorts as (timestamp, seq): seq + 10^18 has 19 digits
        ordered = "timestamp || (seq + 1000000000000000000)"
        latest = {
            "last": f"max({ordered})",
            "locale": f"max(CASE WHEN {_nonblank('context', 'locale', dialect)} "
            f"THEN {ordered} END)",
            "tz": f"max(CASE WHEN {_nonblank('context', 'timezone', dialect)} THEN {ordered} END)",
        }
        seq_of = "CAST(substr(g.{0}, -19) AS INTEGER) - 1000000000000000000"
        orders = "total(event = 'Order Completed')"
        revenue = (
            "total(CASE WHEN event = 'Order Completed' THEN "
            "COALESCE(CAST(json_extract(properties, '$.revenue') AS REAL), "
            "CAST(json_extract(properties, '$.total') AS REAL), 0) END)"
        )
        channel = (
            "COALESCE(json_extract(l.context, '$.channel'), json_extract(l.extra, '$.channel'))"
        )
        locale, tz = (
            "json_extract(lc.context, '$.locale')",
            "json_extract(tz.context, '$.timezone')",
        )
        seqs = "g.seqs"
        mark = "?"
    else:
        ordered = "ORDER BY timestamp DESC, seq DESC"
        latest = {
            "last": f"(array_agg(seq {ordered}))[1]",
            "locale": f"(array_agg(seq {ordered}) FILTER "
            f"(WHERE {_nonblank('context', 'locale', dialect)}))[1]",
            "tz": f"(array_agg(seq {ordered}) FILTER "
            f"(WHERE {_nonblank('context', 'timezone', dialect)}))[1]",
        }
        seq_of = "g.{0}"
        orders = "count(*) FILTER (WHERE event = 'Order Completed')"
        revenue = (
            "COALESCE(sum(CASE WHEN event = 'Order Completed' THEN "
            f"CASE WHEN (properties->>'revenue') ~ {_NUMBER} THEN (properties->>'revenue')::float8 "
            f"WHEN (properties->>'total') ~ {_NUMBER} THEN (properties->>'total')::float8 "
            "ELSE 0 END END), 0)"
        )
        channel = "COALESCE(l.context->>'channel', l.extra->>'channel')"
        locale, tz = "lc.context->>'locale'", "tz.context->>'timezone'"
        seqs = "g.seqs"
        mark = "%s"
    group = "seq" if per_event else "workspace_id, user_id, anonymous_id"
    only = ""
    if per_event:
        only = (
            " AND (workspace_id, COALESCE(user_id, ''), COALESCE(anonymous_id, '')) IN "
            "(SELECT workspace_id, u, a FROM tmp_resolve_keys)"
        )
    return (
        f"SELECT g.workspace_id, g.user_id, g.anonymous_id, g.first_seq, g.n, g.first_ts, "
        f"l.timestamp, g.orders, g.revenue, l.seq, {channel}, l.source_id, "
        f"{locale}, lc.seq, lc.timestamp, {tz}, tz.seq, tz.timestamp, {seqs} "
        "FROM (SELECT workspace_id, user_id, anonymous_id, min(seq) AS first_seq, count(*) AS n, "
        f"min(timestamp) AS first_ts, {orders} AS orders, "
        f"{revenue} AS revenue, {latest['last']} AS last_key, "
        f"{latest['locale']} AS locale_key, {latest['tz']} AS tz_key"
        + (", group_concat(seq) AS seqs" if dialect == "sqlite" else ", array_agg(seq) AS seqs")
        + f" FROM events WHERE {_RANGE.format(m=mark)}{only} GROUP BY {group}) g "
        f"JOIN events l ON l.seq = {seq_of.format('last_key')} "
        f"LEFT JOIN events lc ON lc.seq = {seq_of.format('locale_key')} "
        f"LEFT JOIN events tz ON tz.seq = {seq_of.format('tz_key')}"
    )


def seqs_of(unit: ResolveUnit) -> tuple[int, ...]:
    """The seqs of a unit's events."""
    raw = unit.seqs
    if isinstance(raw, str):
        return tuple(map(int, raw.split(",")))
    if isinstance(raw, int):
        return (raw,)
    return tuple(raw)


def resolve_units(
    conn: Connection,
    *,
    after: int,
    upto: int,
    per_event_keys: Sequence[tuple[str, str, str]] | None = None,
) -> list[ResolveUnit]:
    """The unresolved events with ``after < seq <= upto`` as units, in no particular order
    (sorting a backlog's units costs the database a second sort): one per (workspace,
    user_id, anonymous_id); with ``per_event_keys`` ((workspace, user_id or '', anonymous_id
    or '') triples), one per event of those keys only."""
    dialect = "sqlite" if conn.dialect.name == "sqlite" else "postgresql"
    per_event = per_event_keys is not None
    if per_event:
        temp_table(
            conn, "tmp_resolve_keys", "workspace_id VARCHAR(40), u VARCHAR(255), a VARCHAR(255)"
        )
        if not per_event_keys:
            return []
        insert_rows(conn, "tmp_resolve_keys", ("workspace_id", "u", "a"), per_event_keys)
    # positional: twice as fast as keywords for 250,000 units; the SQL's columns are in the
    # order of the fields, with orders and revenue before last_seq. On the driver's cursor:
    # this read runs beside the main thread, and SQLAlchemy's row handling would take the
    # GIL for every row.
    return [
        ResolveUnit._make((*row[:7], int(row[7]), float(row[8]), *row[9:], per_event))
        for row in driver.rows(conn, _units_sql(dialect, per_event=per_event), (after, upto))
    ]


_DOCS = {
    "sqlite": (
        "SELECT seq, workspace_id, type, user_id, anonymous_id, timestamp, traits, "
        "json_extract(context, '$.traits'), json_extract(context, '$.externalIds'), "
        "json_extract(extra, '$.previousId'), json_extract(context, '$.timezone') "
        "FROM events WHERE seq > ? AND seq <= ? AND profile_id IS NULL AND ("
        "traits IS NOT NULL OR json_extract(context, '$.traits') IS NOT NULL "
        "OR json_extract(context, '$.externalIds') IS NOT NULL "
        "OR json_extract(extra, '$.previousId') IS NOT NULL) ORDER BY seq"
    ),
    "postgresql": (
        "SELECT seq, workspace_id, type, user_id, anonymous_id, timestamp, traits::text, "
        "(context->'traits')::text, (context->'externalIds')::text, extra->>'previousId', "
        "context->>'timezone' "
        "FROM events WHERE seq > %s AND seq <= %s AND profile_id IS NULL AND ("
        "(traits IS NOT NULL AND traits <> 'null'::jsonb) "
        "OR (context->'traits') IS NOT NULL OR (context->'externalIds') IS NOT NULL "
        "OR (extra->'previousId') IS NOT NULL) ORDER BY seq"
    ),
}


def identity_documents(conn: Connection, *, after: int, upto: int) -> list[IdentityDoc]:
    """The unresolved events with ``after < seq <= upto`` that carry identity documents, with
    the documents parsed."""
    sql = _DOCS["sqlite" if conn.dialect.name == "sqlite" else "postgresql"]
    out = []
    for row in driver.rows(conn, sql, (after, upto)):
        seq, ws, type_, user_id, anon, ts, traits, ctraits, ext, prev, tz = row
        out.append(
            IdentityDoc(
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
            )
        )
    return out


def assign_units(conn: Connection, assignments: Sequence[tuple[ResolveUnit, str]]) -> None:
    """Set ``profile_id`` on every event of each (unit, profile_id) pair, by the seqs the units
    were read with (an event committed meanwhile on PostgreSQL waits for the next pass instead
    of slipping in unread)."""
    temp_table(conn, "tmp_event_profiles", f"seq {int_key(conn)}, profile_id VARCHAR(40)")
    dense = profiles_by_seq(assignments) if conn.dialect.name == "sqlite" else None
    if dense is not None:
        # one array in seq order: its rows go into the scratch table's b-tree in key order
        insert_dense(conn, "tmp_event_profiles", ("seq", "profile_id"), dense)
    elif conn.dialect.name == "sqlite":
        # a row per unit; SQLite spreads its seqs text ("3,17,42") into a row per event
        temp_table(conn, "tmp_unit_profiles", "seqs TEXT, profile_id VARCHAR(40)")
        insert_rows(
            conn,
            "tmp_unit_profiles",
            ("seqs", "profile_id"),
            [(unit.seqs, pid) for unit, pid in assignments],
        )
        conn.exec_driver_sql(
            "INSERT INTO tmp_event_profiles (seq, profile_id) SELECT j.value, u.profile_id "
            "FROM tmp_unit_profiles u, json_each('[' || u.seqs || ']') j"
        )
    else:
        pairs = [(seq, pid) for unit, pid in assignments for seq in seqs_of(unit)]
        insert_rows(conn, "tmp_event_profiles", ("seq", "profile_id"), pairs)
    assigned = sum(unit.events for unit, _ in assignments)
    with rebuilt_indexes(conn, "events", TIMELINE_INDEXES, rows=assigned):
        conn.exec_driver_sql(_assignments_sql(conn))


def profiles_by_seq(assignments: Sequence[tuple[ResolveUnit, str]]) -> DenseKeys | None:
    """SQLite: the profile of each seq from the lowest assigned to the highest, None for the
    seqs in between that are not assigned (other workspaces' events); None when there is
    nothing to assign or when such gaps would outnumber the events (a sparse pass: the unit by
    unit way is cheaper then). See ``storage.bulk.dense_by_key``."""
    texts = [unit.seqs for unit, _ in assignments]
    if not all(isinstance(text, str) for text in texts):
        return None
    return dense_by_key(texts, [pid for _, pid in assignments])


#: the indexes (see events.tables) an event enters once assigned to a profile; a pass
#: assigning most of the log rebuilds them (see ``rebuilt_indexes``)
TIMELINE_INDEXES = ("ix_events_profile_time",)


def _assignments_sql(conn: Connection) -> str:
    """The statement that sets ``events.profile_id`` as staged in ``tmp_event_profiles``."""
    if conn.dialect.name == "sqlite":
        # driven from the scratch table (rowid lookups), not a scan of the log
        return (
            "UPDATE events SET profile_id = (SELECT t.profile_id FROM tmp_event_profiles t "
            "WHERE t.seq = events.seq) WHERE seq IN (SELECT seq FROM tmp_event_profiles)"
        )
    return (
        "UPDATE events SET profile_id = t.profile_id FROM tmp_event_profiles t "
        "WHERE events.seq = t.seq"
    )


def event_time(raw: Any) -> datetime:
    """A timestamp read raw from the driver as an aware datetime (kept raw until needed)."""
    return utc_moment(raw)


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
    temp_table(conn, "tmp_event_drop", f"seq {int_key(conn)}")
    insert_rows(conn, "tmp_event_drop", ("seq",), wanted)
    result = conn.exec_driver_sql(
        "DELETE FROM events WHERE seq IN (SELECT seq FROM tmp_event_drop)"
    )
    return int(result.rowcount)


def delete_units(conn: Connection, units: Sequence[ResolveUnit]) -> int:
    """Delete every event of the given units (suppressed identifiers); returns how many went."""
    return delete_events(conn, [seq for unit in units for seq in seqs_of(unit)])


def first_unresolved_seq(conn: Connection, *, upto: int) -> int | None:
    """The lowest seq <= ``upto`` that still has no profile (late commits on PostgreSQL)."""
    row = conn.execute(
        select(func.min(events.c.seq)).where(events.c.profile_id.is_(None), events.c.seq <= upto)
    ).scalar_one()
    return int(row) if row is not None else None


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
