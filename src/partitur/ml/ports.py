"""Where ml and decisions meet the profiles and events domains.

This is the one adapter module: writes of computed traits go through
``partitur.profiles.service.set_computed`` when that service is installed; reads that the
hot decision path needs (one profile's traits and recent events) and the bulk reads of
order events for model features are plain SELECTs kept here, so that swapping them for the
owning domains' service functions touches one file.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, bindparam, select

from partitur.core.types import utc_from_db
from partitur.events.tables import events
from partitur.profiles.tables import profiles
from partitur.segments.rules import EventFact
from partitur.storage import driver
from partitur.storage.bulk import db_time

_MAX_CHAIN = 20


@dataclass
class ProfileSnapshot:
    """What decisions read about one person."""

    id: str
    traits: dict[str, Any] = field(default_factory=dict)
    computed: dict[str, Any] = field(default_factory=dict)


# The decision API runs these on every request: SQL on the driver's cursor, written once.
_SNAPSHOT_SQL = "SELECT id, workspace_id, merged_into, traits, computed FROM profiles WHERE id = ?"
_RECENT_SQL = (
    'SELECT event, "timestamp", properties FROM events WHERE profile_id = ? AND workspace_id = ?'
    ' AND "timestamp" <= ? {since}AND event IN ({names}) ORDER BY "timestamp" DESC LIMIT ?'
)


def get_profile_snapshot(
    conn: Connection, *, workspace_id: str, profile_id: str
) -> ProfileSnapshot | None:
    """Traits and computed traits of a profile (following merges), or None."""
    statement = driver.sql(conn, _SNAPSHOT_SQL)
    current = profile_id
    for _ in range(_MAX_CHAIN):
        found = driver.rows(conn, statement, (current,))
        if not found or found[0][1] != workspace_id:
            return None
        pid, _, merged_into, traits, computed = found[0]
        if merged_into is None:
            return ProfileSnapshot(
                id=pid,
                traits=driver.json_value(traits) or {},
                computed=driver.json_value(computed) or {},
            )
        current = merged_into
    return None


def recent_events(
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


def order_events(
    conn: Connection,
    *,
    workspace_id: str,
    event: str,
    revenue_property: str,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Columns ``profile_id``, ``timestamp`` (UTC), ``revenue`` (float, NaN when missing) of
    the workspace's resolved events named ``event``."""
    query = select(
        events.c.profile_id,
        events.c.timestamp,
        events.c.properties[revenue_property].as_float().label("revenue"),
    ).where(
        events.c.workspace_id == workspace_id,
        events.c.event == event,
        events.c.profile_id.is_not(None),
    )
    if until is not None:
        query = query.where(events.c.timestamp <= until)
    rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=["profile_id", "timestamp", "revenue"])
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
) -> pd.DataFrame:
    """Columns profile_id, event, timestamp (UTC), revenue, score, sentiment (numeric
    properties, NaN when missing) of the workspace's resolved track events."""
    props = events.c.properties
    query = select(
        events.c.profile_id,
        events.c.event,
        events.c.timestamp,
        props["revenue"].as_float().label("revenue"),
        props["score"].as_float().label("score"),
        props["sentiment"].as_float().label("sentiment"),
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
    rows = conn.execute(query).all()
    frame = pd.DataFrame(
        rows, columns=["profile_id", "event", "timestamp", "revenue", "score", "sentiment"]
    )
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    for column in ("revenue", "score", "sentiment"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def _profiles_service() -> Any | None:
    try:
        return importlib.import_module("partitur.profiles.service")
    except ModuleNotFoundError as exc:
        if exc.name != "partitur.profiles.service":
            raise
        return None


def merge_computed(
    conn: Connection,
    *,
    workspace_id: str,
    values: dict[str, dict[str, Any]],
    now: datetime,
    chunk: int = 2000,
) -> int:
    """Set computed traits per profile; nested objects (``scores``) are merged one level deep
    so one model's scores do not erase another's. Returns how many profiles were updated."""
    service = _profiles_service()
    updated = 0
    ids = list(values)
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        current = {
            r.id: (r.computed or {})
            for r in conn.execute(
                select(profiles.c.id, profiles.c.computed).where(
                    and_(profiles.c.id.in_(part), profiles.c.workspace_id == workspace_id)
                )
            )
        }
        batch: dict[str, dict[str, Any]] = {}
        for pid in part:
            if pid not in current:
                continue
            keys = dict(values[pid])
            for name, value in keys.items():
                existing = current[pid].get(name)
                if isinstance(value, dict) and isinstance(existing, dict):
                    keys[name] = {**existing, **value}
            batch[pid] = keys
        if not batch:
            continue
        if service is not None:
            updated += int(
                service.set_computed(conn, workspace_id=workspace_id, values=batch, now=now)
            )
            continue
        conn.execute(
            profiles.update()
            .where(profiles.c.id == bindparam("b_id"))
            .values(computed=bindparam("b_computed"), updated_at=now),
            [{"b_id": pid, "b_computed": {**current[pid], **keys}} for pid, keys in batch.items()],
        )
        updated += len(batch)
    return updated


def iter_profiles(
    conn: Connection, *, workspace_id: str, chunk: int = 5000
) -> Iterator[list[tuple[str, dict[str, Any], dict[str, Any]]]]:
    """Live (unmerged) profiles of a workspace as (id, traits, computed), in chunks by id."""
    after = ""
    while True:
        rows = conn.execute(
            select(profiles.c.id, profiles.c.traits, profiles.c.computed)
            .where(
                profiles.c.workspace_id == workspace_id,
                profiles.c.merged_into.is_(None),
                profiles.c.id > after,
            )
            .order_by(profiles.c.id)
            .limit(chunk)
        ).all()
        if not rows:
            return
        yield [(r.id, r.traits or {}, r.computed or {}) for r in rows]
        after = rows[-1].id


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
