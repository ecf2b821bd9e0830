"""Where ml and decisions meet the profiles and events domains: what models read (profile
snapshots, a person's recent events, analysis frames of the event log) and write (computed
traits), each through the owning domain's service."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from partitur.core.rules import EventFact, PropertyFilter
from partitur.events import service as events
from partitur.profiles import service as profiles
from partitur.profiles.contracts import ProfileSnapshot
from partitur.segments import service as segments

__all__ = [
    "ProfileSnapshot",
    "event_frame",
    "event_texts",
    "get_profile_snapshot",
    "iter_profiles",
    "label_events",
    "merge_computed",
    "order_events",
    "recent_events",
    "trait_frame",
]


def get_profile_snapshot(
    conn: Connection, *, workspace_id: str, profile_id: str
) -> ProfileSnapshot | None:
    """Traits and computed traits of a profile (following merges), or None."""
    return profiles.snapshot(conn, workspace_id=workspace_id, profile_id=profile_id)


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
    return events.latest_events(
        conn,
        workspace_id=workspace_id,
        profile_id=profile_id,
        names=names,
        since=since,
        now=now,
        limit=limit,
    )


def order_events(
    conn: Connection,
    *,
    workspace_id: str,
    event: str,
    revenue_property: str,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Columns ``profile_id``, ``timestamp`` (UTC), ``revenue`` and ``currency`` of the orders."""
    return events.order_events(
        conn,
        workspace_id=workspace_id,
        event=event,
        revenue_property=revenue_property,
        until=until,
    )


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
    """One row per resolved event of the workspace (see ``events.service.event_frame``)."""
    return events.event_frame(
        conn,
        workspace_id=workspace_id,
        until=until,
        since=since,
        profile_id=profile_id,
        text_events=text_events,
        text_properties=text_properties,
        names=names,
    )


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
    return events.event_texts(
        conn,
        workspace_id=workspace_id,
        names=names,
        text_properties=text_properties,
        since=since,
        until=until,
    )


def merge_computed(
    conn: Connection, *, workspace_id: str, values: dict[str, dict[str, Any]], now: datetime
) -> int:
    """Set computed traits per profile (nested objects such as ``scores`` merged one level
    deep). Returns how many profiles were updated."""
    return profiles.merge_computed(conn, workspace_id=workspace_id, values=values, now=now)


def iter_profiles(
    conn: Connection, *, workspace_id: str, chunk: int = 5000
) -> Iterator[list[tuple[str, dict[str, Any], dict[str, Any]]]]:
    """Live (unmerged) profiles of a workspace as (id, traits, computed), in chunks by id."""
    for page in profiles.iter_live_profiles(conn, workspace_id=workspace_id, chunk=chunk):
        yield [(p.id, p.traits, p.computed) for p in page]


def label_events(
    conn: Connection,
    *,
    workspace_id: str,
    event: str,
    where: list[PropertyFilter],
    since: datetime,
    until: datetime,
) -> pd.DataFrame:
    """Columns profile_id, timestamp of the events named ``event`` matching ``where`` (the
    shared rule format, compiled to SQL by the segments domain) in (since, until]."""
    conditions = segments.property_conditions(where, dialect=conn.dialect.name)
    return events.matching_events(
        conn,
        workspace_id=workspace_id,
        event=event,
        conditions=conditions,
        since=since,
        until=until,
    )


def trait_frame(conn: Connection, *, workspace_id: str, paths: Sequence[str]) -> pd.DataFrame:
    """One row per live profile, one column per trait path (``traits.x`` / ``computed.y``)."""
    rows: list[dict[str, Any]] = []
    for chunk in iter_profiles(conn, workspace_id=workspace_id):
        for pid, traits, computed in chunk:
            row: dict[str, Any] = {"profile_id": pid}
            for path in paths:
                source, _, rest = path.partition(".")
                document = computed if source == "computed" else traits
                key = rest if source in ("computed", "traits") else path
                value = _lookup(document, key)
                row[path] = value if isinstance(value, int | float | str | bool) else None
            rows.append(row)
    return pd.DataFrame(rows, columns=["profile_id", *paths]).set_index("profile_id")


def _lookup(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
