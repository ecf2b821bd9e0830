"""The facts adapter: what rules need to know about a batch of profiles, loaded in one go.

This is the ONE place the segments domain reads the ``profiles`` and ``events`` tables of other
domains for per-profile evaluation (the SQL compiler reads them set-based). When the profiles
service (``partitur.profiles.service.get_profile``) and the identity resolver
(``partitur.identity.service.resolved_position``) are on main, ``load_profile_facts`` moves behind
the profiles service and ``readable_position`` calls the resolver; nothing else changes.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from partitur.events.tables import events
from partitur.profiles.tables import profiles
from partitur.segments.rules import EventFact, ProfileFacts


@dataclass
class ProfileSnapshot:
    id: str
    workspace_id: str
    facts: ProfileFacts


def load_profile_facts(
    conn: Connection,
    *,
    workspace_id: str,
    profile_ids: Collection[str],
    event_names: Collection[str],
    since: datetime | None,
    segments: dict[str, frozenset[str]],
) -> dict[str, ProfileSnapshot]:
    """Traits, computed traits and the events named ``event_names`` at or after ``since`` (all
    of them when ``since`` is None; future-stamped ones included) of the live (not merged)
    profiles among ``profile_ids``. ``segments`` gives each profile's current memberships."""
    found: dict[str, ProfileSnapshot] = {}
    ids = list(profile_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            # by id only: a workspace condition lets SQLite pick the workspace index and scan
            select(
                profiles.c.id, profiles.c.workspace_id, profiles.c.traits, profiles.c.computed
            ).where(profiles.c.id.in_(chunk), profiles.c.merged_into.is_(None))
        )
        for pid, ws, traits, computed in rows:
            if ws != workspace_id:
                continue
            found[pid] = ProfileSnapshot(
                pid,
                workspace_id,
                ProfileFacts(
                    traits=traits or {},
                    computed=computed or {},
                    recent_events=[],
                    segments=segments.get(pid, frozenset()),
                ),
            )
        if not event_names or not found:
            continue
        query = select(
            events.c.profile_id, events.c.event, events.c.timestamp, events.c.properties
        ).where(
            # profile ids are unique across workspaces; (profile_id, timestamp) is the index
            events.c.profile_id.in_([p for p in chunk if p in found]),
            events.c.event.in_(list(event_names)),
        )
        if since is not None:
            query = query.where(events.c.timestamp >= since)
        by_profile: dict[str, list[EventFact]] = defaultdict(list)
        for pid, name, moment, properties in conn.execute(query.order_by(events.c.seq)):
            by_profile[pid].append(EventFact(name, moment, properties or {}))
        for pid, facts in by_profile.items():
            found[pid].facts.recent_events = facts
    return found


def profile_workspaces(conn: Connection, profile_ids: Iterable[str]) -> dict[str, str]:
    """The workspace of each profile id (for feeds that do not carry it)."""
    ids = list(profile_ids)
    result: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(profiles.c.id, profiles.c.workspace_id).where(
                profiles.c.id.in_(ids[start : start + 500])
            )
        )
        result.update({pid: ws for pid, ws in rows})
    return result


def readable_position(conn: Connection) -> int:
    """The highest event ``seq`` up to which every event has its ``profile_id`` set.

    Uses ``partitur.identity.service.resolved_position`` when the identity resolver exists;
    until then, every event before the first unresolved one (``profile_id`` NULL).
    """
    try:
        identity = importlib.import_module("partitur.identity.service")
    except ModuleNotFoundError:
        identity = None
    resolver = getattr(identity, "resolved_position", None)
    if resolver is not None:
        return int(resolver(conn))
    first_open = conn.execute(
        select(func.min(events.c.seq)).where(events.c.profile_id.is_(None))
    ).scalar()
    if first_open is not None:
        return int(first_open) - 1
    return int(conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar() or 0)


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


def trait_changes(conn: Connection, *, after: int, limit: int) -> tuple[int, set[str]]:
    """The profiles whose traits changed in ``trait_history`` after id ``after`` (at most
    ``limit`` rows) and the last id read (``after`` when there is nothing new)."""
    from partitur.profiles.tables import trait_history

    upto = conn.execute(
        select(func.max(trait_history.c.id)).where(
            trait_history.c.id > after, trait_history.c.id <= after + limit
        )
    ).scalar()
    if upto is None:
        nxt = conn.execute(
            select(func.min(trait_history.c.id)).where(trait_history.c.id > after)
        ).scalar()
        if nxt is None:
            return after, set()
        return trait_changes(conn, after=int(nxt) - 1, limit=limit)
    ids = conn.execute(
        select(trait_history.c.profile_id)
        .where(trait_history.c.id > after, trait_history.c.id <= upto)
        .distinct()
    ).scalars()
    return int(upto), set(ids)


def merges_since(conn: Connection, *, after: int, limit: int) -> tuple[int, list[tuple[str, str]]]:
    """Identity merges after id ``after`` (at most ``limit``): the last id read and
    ``(workspace_id, profile_id)`` of every survivor and every merged-away profile."""
    from partitur.identity.tables import identity_merges

    rows = conn.execute(
        select(
            identity_merges.c.id,
            identity_merges.c.workspace_id,
            identity_merges.c.survivor_id,
            identity_merges.c.merged_id,
        )
        .where(identity_merges.c.id > after)
        .order_by(identity_merges.c.id)
        .limit(limit)
    ).all()
    if not rows:
        return after, []
    touched = [(ws, pid) for _, ws, survivor, merged in rows for pid in (survivor, merged)]
    return int(rows[-1][0]), touched
