"""What other domains read from the event log: a person's recent events, the feed of new events
in ``seq`` order, windows of history and analysis frames. Exposed through ``events.service``.

The event log is append-only and ordered by ``seq``; a feed reads only what is past its cursor
through the log's primary key (``seq``), never the log from the start.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, func, select

from partitur.core.rules import EventFact
from partitur.core.types import utc_from_db
from partitur.events.contracts import LoggedEvent
from partitur.events.tables import events
from partitur.storage import driver
from partitur.storage.bulk import db_time

# The decision API runs this on every request: SQL on the driver's cursor, written once.
_RECENT_SQL = (
    'SELECT event, "timestamp", properties FROM events WHERE profile_id = ? AND workspace_id = ?'
    ' AND "timestamp" <= ? {since}AND event IN ({names}) ORDER BY "timestamp" DESC LIMIT ?'
)


def latest_events(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    names: Iterable[str],
    since: datetime | None,
    now: datetime,
    limit: int = 500,
) -> list[EventFact]:
    """The profile's events with the given names in [since, now], newest first."""
    wanted = sorted(set(names))
    if not wanted:
        return []
    params: list[Any] = [profile_id, workspace_id, db_time(conn, now)]
    if since is not None:
        params.append(db_time(conn, since))
    params += [*wanted, limit]
    statement = _RECENT_SQL.format(
        since="" if since is None else 'AND "timestamp" >= ? ',
        names=", ".join("?" * len(wanted)),
    )
    return [
        EventFact(event, utc_from_db(at), driver.json_value(properties) or {})  # type: ignore[arg-type]
        for event, at, properties in driver.rows(conn, driver.sql(conn, statement), params)
    ]


def profile_event_facts(
    conn: Connection,
    *,
    profile_ids: Collection[str],
    names: Collection[str],
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, list[EventFact]]:
    """The events of the given names of each profile (``since``/``until`` inclusive when
    given; future-stamped ones included otherwise), oldest first, as rule facts."""
    out: dict[str, list[EventFact]] = defaultdict(list)
    ids = list(profile_ids)
    if not ids or not names:
        return out
    for start in range(0, len(ids), 500):
        # profile ids are unique across workspaces; (profile_id, timestamp) is the index
        query = select(
            events.c.profile_id, events.c.event, events.c.timestamp, events.c.properties
        ).where(events.c.profile_id.in_(ids[start : start + 500]), events.c.event.in_(list(names)))
        if since is not None:
            query = query.where(events.c.timestamp >= since)
        if until is not None:
            query = query.where(events.c.timestamp <= until)
        for pid, name, moment, properties in conn.execute(
            query.order_by(events.c.timestamp, events.c.seq)
        ):
            out[pid].append(EventFact(name, moment, properties or {}))
    return out


def events_after(
    conn: Connection,
    *,
    workspace_id: str,
    after: int,
    upto: int,
    limit: int,
    names: Collection[str] | None = None,
) -> tuple[list[LoggedEvent], int]:
    """A feed's next page: the workspace's resolved events with ``after < seq <= upto`` in
    ``seq`` order, only those named in ``names`` when given, at most ``limit``; and the seq up
    to which the log was read (``upto`` when fewer than ``limit`` matched), where the feed's
    cursor moves.

    The log is read through its primary key only: a workspace condition in SQL lets SQLite
    pick the (workspace, source, message) index and sort the whole workspace's log in a
    temporary B-tree on every pass, so the workspace is checked on the rows read."""
    query = (
        select(
            events.c.seq,
            events.c.workspace_id,
            events.c.profile_id,
            events.c.event,
            events.c.timestamp,
            events.c.properties,
            events.c.received_at,
        )
        .where(events.c.seq > after, events.c.seq <= upto, events.c.profile_id.is_not(None))
        .order_by(events.c.seq)
        .limit(limit)
    )
    if names is not None:
        query = query.where(events.c.event.in_(sorted(names)))
    rows = conn.execute(query).all()
    through = rows[-1].seq if len(rows) == limit else upto
    return [
        LoggedEvent(
            r.seq, r.profile_id or "", r.event or "", r.timestamp, r.properties or {}, r.received_at
        )
        for r in rows
        if r.workspace_id == workspace_id
    ], through


def events_between(
    conn: Connection,
    *,
    workspace_id: str,
    since: datetime,
    until: datetime,
    names: Collection[str],
    upto: int | None = None,
) -> list[LoggedEvent]:
    """Resolved events of the given names in a time window, in time order (simulation and
    backfill over stored history); ``upto``: only events with ``seq <= upto``."""
    rows = conn.execute(
        select(
            events.c.seq,
            events.c.profile_id,
            events.c.event,
            events.c.timestamp,
            events.c.properties,
        )
        .where(
            events.c.workspace_id == workspace_id,
            events.c.profile_id.is_not(None),
            events.c.timestamp >= since,
            events.c.timestamp <= until,
            events.c.event.in_(sorted(names)),
            *(() if upto is None else (events.c.seq <= upto,)),
        )
        .order_by(events.c.timestamp, events.c.seq)
    )
    return [
        LoggedEvent(r.seq, r.profile_id, r.event or "", r.timestamp, r.properties or {})
        for r in rows
    ]


def touched_by_events(
    conn: Connection, *, after: int, upto: int
) -> list[tuple[str, str, str | None, bool]]:
    """``(workspace_id, profile_id, event name, carried traits)`` for the events with
    ``after < seq <= upto``, one row per distinct combination (no per-event Python loop)."""
    carried = (events.c.type == "identify") | events.c.traits.is_not(None)
    rows = conn.execute(
        select(events.c.workspace_id, events.c.profile_id, events.c.event, carried)
        .where(events.c.seq > after, events.c.seq <= upto, events.c.profile_id.is_not(None))
        .distinct()
    )
    return [(ws, pid, name, bool(traits)) for ws, pid, name, traits in rows]


def order_events(
    conn: Connection,
    *,
    workspace_id: str,
    event: str,
    revenue_property: str,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Columns ``profile_id``, ``timestamp`` (UTC), ``revenue`` (float, NaN when missing) and
    ``currency`` (None when missing) of the workspace's resolved events named ``event``."""
    query = select(
        events.c.profile_id,
        events.c.timestamp,
        events.c.properties[revenue_property].as_float().label("revenue"),
        events.c.properties["currency"].as_string().label("currency"),
    ).where(
        events.c.workspace_id == workspace_id,
        events.c.event == event,
        events.c.profile_id.is_not(None),
    )
    if until is not None:
        query = query.where(events.c.timestamp <= until)
    rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=["profile_id", "timestamp", "revenue", "currency"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["revenue"] = pd.to_numeric(frame["revenue"], errors="coerce").astype("float64")
    return frame


def event_frame(
    conn: Connection,
    *,
    workspace_id: str,
    until: datetime,
    since: datetime | None = None,
    profile_id: str | None = None,
    text_events: Sequence[str] = (),
    text_properties: Sequence[str] = (),
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per resolved event (track, page and screen) of the workspace: profile_id,
    known (the event came with a user id), event, timestamp (UTC), revenue, currency, score,
    rating, late (numbers NaN when missing), channel (a contact's channel) and text (the
    first non-empty of ``text_properties`` on ``text_events``, else None); only events named
    in ``names`` when given."""
    props = events.c.properties
    texts = [
        sa.case((events.c.event.in_(list(text_events)), props[p].as_string()), else_=None)
        for p in text_properties
    ]
    query = select(
        events.c.profile_id,
        events.c.user_id.is_not(None).label("known"),
        events.c.event,
        events.c.timestamp,
        props["revenue"].as_float().label("revenue"),
        props["currency"].as_string().label("currency"),
        props["score"].as_float().label("score"),
        props["rating"].as_float().label("rating"),
        props["late"].as_boolean().label("late"),
        props["channel"].as_string().label("channel"),
        (sa.func.coalesce(*texts) if len(texts) > 1 else texts[0] if texts else sa.null()).label(
            "text"
        ),
    ).where(
        events.c.workspace_id == workspace_id,
        events.c.profile_id.is_not(None),
        events.c.event.is_not(None),
        events.c.timestamp <= until,
    )
    if since is not None:
        query = query.where(events.c.timestamp > since)
    if profile_id is not None:
        query = query.where(events.c.profile_id == profile_id)
    if names is not None:
        query = query.where(events.c.event.in_(list(names)))
    columns = [
        "profile_id",
        "known",
        "event",
        "timestamp",
        "revenue",
        "currency",
        "score",
        "rating",
        "late",
        "channel",
        "text",
    ]
    frame = pd.DataFrame(conn.execute(query).all(), columns=columns)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["known"] = frame["known"].fillna(False).astype(bool)
    for column in ("revenue", "score", "rating"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["late"] = frame["late"].map({True: 1.0, False: 0.0}).astype("float64")
    return frame


def event_texts(
    conn: Connection,
    *,
    workspace_id: str,
    names: Sequence[str],
    text_properties: Sequence[str],
    since: datetime,
    until: datetime,
) -> pd.DataFrame:
    """Columns profile_id, timestamp, text: the first non-empty text property of each event."""
    props = events.c.properties
    columns = [props[p].as_string().label(f"t{i}") for i, p in enumerate(text_properties)]
    rows = conn.execute(
        select(events.c.profile_id, events.c.timestamp, *columns).where(
            events.c.workspace_id == workspace_id,
            events.c.profile_id.is_not(None),
            events.c.event.in_(list(names)),
            events.c.timestamp > since,
            events.c.timestamp <= until,
        )
    ).all()
    frame = pd.DataFrame(
        rows, columns=["profile_id", "timestamp", *[f"t{i}" for i in range(len(columns))]]
    )
    text = frame[[f"t{i}" for i in range(len(columns))]].bfill(axis=1).iloc[:, 0]
    out = pd.DataFrame(
        {"profile_id": frame["profile_id"], "timestamp": frame["timestamp"], "text": text}
    )
    return out[out["text"].fillna("").str.strip() != ""].reset_index(drop=True)


def backlog_after(conn: Connection, *, workspace_id: str, after: int) -> tuple[int, int]:
    """The workspace's newest event ``seq`` (0 without events) and how many of its events lie
    past ``after``."""
    row = conn.execute(
        select(
            func.coalesce(func.max(events.c.seq), 0),
            func.count().filter(events.c.seq > after),
        ).where(events.c.workspace_id == workspace_id)
    ).one()
    return int(row[0]), int(row[1])


def matching_events(
    conn: Connection,
    *,
    workspace_id: str,
    event: str,
    conditions: Sequence[Any],
    since: datetime,
    until: datetime,
) -> pd.DataFrame:
    """Columns profile_id, timestamp of the resolved events named ``event`` in (since, until]
    that meet ``conditions`` (SQL over ``events.properties``, as the segments domain's
    ``property_conditions`` compiles them from the rule format)."""
    rows = conn.execute(
        select(events.c.profile_id, events.c.timestamp).where(
            events.c.workspace_id == workspace_id,
            events.c.profile_id.is_not(None),
            events.c.event == event,
            events.c.timestamp > since,
            events.c.timestamp <= until,
            *conditions,
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["profile_id", "timestamp"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame
