"""Identity resolution: link each event's identifiers to one profile, merge where a link joins
two profiles, and keep profiles' traits and computed traits current. Set-based per batch.

The resolver follows the event log by ``seq`` (cursor ``identity.resolver``) and handles one
batch per transaction; ``resolved_position`` tells other domains how far every event has a
``profile_id``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from partitur.core.ids import new_ids
from partitur.core.memory import collector_paused
from partitur.events import resolution as event_log
from partitur.events.contracts import PROFILE_ANONYMOUS_PREFIX
from partitur.identity import repository as repo
from partitur.identity.extract import (
    Blocklist,
    Identifier,
    extract_identifiers,
    value_hash,
)
from partitur.identity.graph import DEFAULT_LIMITS, resolve
from partitur.privacy.audit import record_audits
from partitur.profiles import service as profiles
from partitur.profiles.traits import (
    HistoryRow,
    ProfileState,
    add_activity,
    apply_place,
    apply_traits,
)
from partitur.storage.cursors import get_position, set_position
from partitur.storage.scratch import page_cache
from partitur.storage.tables import loop_cursors
from partitur.workspaces.service import list_sources

log = logging.getLogger(__name__)

CURSOR = "identity.resolver"


@dataclass
class ResolverConfig:
    blocked_values: list[str]
    external_id_traits: list[str]
    limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    batch_size: int = 100_000
    #: SQLite page cache during a pass: merges re-point events all over the log (measured on
    #: 1M events: 9 % less CPU and a third less system time than with the default 64 MiB)
    sqlite_cache_kib: int = 256 * 1024


@dataclass
class GapWatch:
    """PostgreSQL: a hole in ``seq`` may be a transaction still in flight. We wait until every
    transaction that was running when the hole was first seen has ended, then move past it."""

    seq: int | None = None
    xmax: int | None = None


@dataclass
class PassResult:
    events: int = 0
    profiles_created: int = 0
    merges: int = 0
    refused_links: int = 0
    dropped: int = 0
    position: int = 0


def resolved_position(conn: Connection) -> int:
    """Every event with ``seq <= resolved_position`` has its ``profile_id`` (or was dropped)."""
    position = get_position(conn, CURSOR)
    first_open = event_log.first_unresolved_seq(conn, upto=position)
    return position if first_open is None else min(position, first_open - 1)


def _lock_cursor(conn: Connection, now: datetime) -> int:
    """Take the resolver's lease: on PostgreSQL the cursor row is locked ``FOR UPDATE`` until
    commit; on SQLite ``BEGIN IMMEDIATE`` already serialises writers."""
    if conn.dialect.name == "sqlite":
        return get_position(conn, CURSOR)
    conn.execute(
        pg_insert(loop_cursors)
        .values(name=CURSOR, position=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    row = conn.execute(
        select(loop_cursors.c.position).where(loop_cursors.c.name == CURSOR).with_for_update()
    ).first()
    return int(row[0]) if row else 0


def _safe_upto(conn: Connection, seqs: list[int], after: int, gap: GapWatch) -> int:
    """The highest seq we may advance to without skipping a possibly in-flight event."""
    if conn.dialect.name == "sqlite" or not seqs:
        return seqs[-1] if seqs else after
    expected = after + 1
    for seq in seqs:
        if seq != expected:
            break
        expected += 1
    else:
        gap.seq = gap.xmax = None
        return seqs[-1]
    hole = expected
    if gap.seq != hole:
        gap.seq = hole
        gap.xmax = int(
            conn.execute(
                text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
            ).scalar_one()
        )
        return hole - 1
    xmin = int(
        conn.execute(
            text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        ).scalar_one()
    )
    if gap.xmax is not None and xmin >= gap.xmax:
        gap.seq = gap.xmax = None
        return seqs[-1]
    return hole - 1


def run_resolution_pass(
    conn: Connection, *, config: ResolverConfig, now: datetime, gap: GapWatch | None = None
) -> PassResult:
    """Resolve the next batch of events in the caller's transaction and advance the cursor."""
    with collector_paused(), page_cache(conn, config.sqlite_cache_kib):
        return _resolution_pass(conn, config=config, now=now, gap=gap or GapWatch())


def _resolution_pass(
    conn: Connection, *, config: ResolverConfig, now: datetime, gap: GapWatch
) -> PassResult:
    after = _lock_cursor(conn, now)
    result = PassResult(position=after)
    count, last = event_log.pending_window(conn, after=after, limit=config.batch_size)
    if count == 0:
        upto = after
    elif conn.dialect.name == "sqlite" or last - after == count:
        # no hole in seq: nothing can still be in flight below ``last``
        upto = last
        gap.seq = gap.xmax = None
    else:
        seqs = event_log.pending_seqs(conn, after=after, limit=config.batch_size)
        upto = _safe_upto(conn, seqs, after, gap)
    # Events committed late below the cursor (PostgreSQL) are picked up by starting lower.
    first_open = event_log.first_unresolved_seq(conn, upto=after)
    start = after if first_open is None else first_open - 1
    if upto <= after and first_open is None:
        return result
    rows = list(event_log.events_to_resolve(conn, after=start, upto=max(upto, after)))
    by_workspace: dict[str, list[event_log.EventToResolve]] = defaultdict(list)
    for row in rows:
        by_workspace[row.workspace_id].append(row)
    for workspace_id, ws_rows in by_workspace.items():
        _resolve_workspace(conn, workspace_id, ws_rows, config, now, result)
    result.events = len(rows)
    if upto > after:
        set_position(conn, CURSOR, upto, now)
        result.position = upto
    return result


def _platform_profiles(
    conn: Connection, workspace_id: str, keys: list[Identifier]
) -> dict[Identifier, str]:
    """``anonymous_id`` ``profile:<id>`` of a live profile belongs to that profile (so a
    delivery event lands on its recipient instead of starting an anonymous profile)."""
    named = {
        key: key[1].removeprefix(PROFILE_ANONYMOUS_PREFIX)
        for key in keys
        if key[0] == "anonymous_id" and key[1].startswith(PROFILE_ANONYMOUS_PREFIX)
    }
    if not named:
        return {}
    live = repo.profiles_with_identities(
        conn, workspace_id=workspace_id, profile_ids=list(named.values())
    )
    return {key: pid for key, pid in named.items() if pid in live}


def _resolve_workspace(
    conn: Connection,
    workspace_id: str,
    rows: list[event_log.EventToResolve],
    config: ResolverConfig,
    now: datetime,
    result: PassResult,
) -> None:
    blocklist = Blocklist(config.blocked_values)
    ext_traits = config.external_id_traits
    # 1. identifiers of every event; the common case (no traits) is cached by (user, anon)
    quick: dict[tuple[Any, Any], tuple[Identifier, ...]] = {}
    per_event: list[tuple[Identifier, ...]] = []
    distinct: dict[tuple[Identifier, ...], int] = {}
    for row in rows:
        if (
            row.traits is None
            and row.context_traits is None
            and row.external_ids is None
            and row.previous_id is None
        ):
            key = (row.user_id, row.anonymous_id)
            ids = quick.get(key)
            if ids is None:
                ids = extract_identifiers(
                    user_id=row.user_id,
                    anonymous_id=row.anonymous_id,
                    traits=None,
                    context_traits=None,
                    external_ids=None,
                    previous_id=None,
                    external_id_traits=ext_traits,
                    blocklist=blocklist,
                )
                quick[key] = ids
        else:
            ids = extract_identifiers(
                user_id=row.user_id,
                anonymous_id=row.anonymous_id,
                traits=row.traits if isinstance(row.traits, dict) else None,
                context_traits=row.context_traits if isinstance(row.context_traits, dict) else None,
                external_ids=row.external_ids,
                previous_id=row.previous_id,
                external_id_traits=ext_traits,
                blocklist=blocklist,
            )
        per_event.append(ids)
        if ids not in distinct:
            distinct[ids] = row.seq

    # 2. the suppression list: events of erased people are dropped and counted
    keep = [True] * len(rows)
    if repo.has_suppressions(conn, workspace_id=workspace_id):
        keys = {i for ids in distinct for i in ids}
        hashed = {i: (i[0], value_hash(*i)) for i in keys}
        hit = repo.suppressed_among(conn, workspace_id=workspace_id, hashes=list(hashed.values()))
        if hit:
            dropped_by: dict[tuple[str, str], int] = defaultdict(int)
            drop_seqs = []
            for n, ids in enumerate(per_event):
                hits = [hashed[i] for i in ids if hashed[i] in hit]
                if hits:
                    keep[n] = False
                    drop_seqs.append(rows[n].seq)
                    for h in set(hits):
                        dropped_by[h] += 1
            event_log.delete_events(conn, drop_seqs)
            repo.count_dropped(conn, workspace_id=workspace_id, counts=dropped_by)
            result.dropped += len(drop_seqs)
            distinct = {}
            for n, ids in enumerate(per_event):
                if keep[n] and ids not in distinct:
                    distinct[ids] = rows[n].seq

    # 3. the existing graph around this batch's identifiers
    all_keys = list({i for ids in distinct for i in ids})
    existing = repo.existing_identities(conn, workspace_id=workspace_id, keys=all_keys)
    existing.update(
        _platform_profiles(conn, workspace_id, [k for k in all_keys if k not in existing])
    )
    involved = set(existing.values())
    limited = repo.limited_values(conn, profile_ids=involved, kinds=config.limits)
    resolution = resolve(
        sorted(((seq, ids) for ids, seq in distinct.items()), key=lambda t: t[0]),
        existing=existing,
        profile_limited=limited,
        profile_age=lambda ids: profiles.created_at_of(conn, ids),
        limits=config.limits,
    )
    result.refused_links += resolution.refused
    profile_of: dict[int, str] = {}
    new_states: dict[str, ProfileState] = {}
    unlinked = sum(1 for n, ids in enumerate(per_event) if keep[n] and not ids)
    wanted = sum(1 for p in resolution.profile_of_component.values() if p is None) + unlinked
    fresh_ids = iter(new_ids("prf", wanted))
    for comp, profile_id in resolution.profile_of_component.items():
        if profile_id is None:
            profile_id = next(fresh_ids)
            new_states[profile_id] = ProfileState(
                id=profile_id, workspace_id=workspace_id, created_at=now, is_new=True
            )
        profile_of[comp] = profile_id

    # 4. which profile each event belongs to: its anchor identifier's
    assignments: list[tuple[int, str]] = []
    event_profile: list[str | None] = [None] * len(rows)
    owner = resolution.owner
    for n, ids in enumerate(per_event):
        if not keep[n]:
            continue
        if ids:
            pid = profile_of[owner[ids[0]]]
        else:  # nothing but blocked values: a profile of its own, linked to nothing
            pid = next(fresh_ids)
            new_states[pid] = ProfileState(
                id=pid, workspace_id=workspace_id, created_at=now, is_new=True
            )
        event_profile[n] = pid
        assignments.append((rows[n].seq, pid))

    # 5. merges: fold losers into survivors (traits by recency, counts add up)
    moves = {m.merged_id: m.survivor_id for m in resolution.merges}
    trait_rows = [
        n
        for n, row in enumerate(rows)
        if keep[n]
        and (row.traits or row.context_traits or row.timezone or row.locale)
        and row.type != "group"
    ]
    needed = set(moves) | set(moves.values())
    for n in trait_rows:
        target = event_profile[n]
        if target is not None and target not in new_states:
            needed.add(target)
    states = profiles.load_states(conn, needed)
    states.update(new_states)
    for merge in resolution.merges:
        profiles.merge_states(states[merge.survivor_id], states[merge.merged_id])

    # 6. traits, timezone and locale from identify traits and context.traits, oldest first
    history: list[HistoryRow] = []
    moments = {n: event_log.event_time(rows[n].timestamp) for n in trait_rows}
    trait_rows.sort(key=lambda n: (moments[n], rows[n].seq))
    for n in trait_rows:
        row = rows[n]
        at = moments[n]
        state = states[event_profile[n] or ""]
        source = f"event:{row.seq}"
        if isinstance(row.context_traits, dict) and row.context_traits:
            history += apply_traits(state, row.context_traits, at=at, source=source)
        if row.type == "identify" and isinstance(row.traits, dict) and row.traits:
            history += apply_traits(state, row.traits, at=at, source=source)
        tz = row.timezone
        if tz is None and isinstance(row.traits, dict) and row.type == "identify":
            tz = row.traits.get("timezone")
        apply_place(state, timezone=tz, locale=row.locale, at=at)

    # 7. activity (counts, first/last seen, channel): folded into the profiles held in memory
    # (new ones, and those whose traits changed), set-based in SQL for the rest
    sources = {s.id: s.name for s in list_sources(conn, workspace_id=workspace_id)}
    activity: list[tuple[Any, ...]] = []
    for item in _activity(rows, event_profile, sources):
        held = states.get(item[0])
        if held is None:
            activity.append(item)
            continue
        add_activity(
            held,
            events=item[1],
            first=event_log.event_time(item[2]),
            last=event_log.event_time(item[3]),
            orders=item[4],
            revenue=item[5],
            channel=item[6],
        )

    # 8. write: profiles, identities, merges, events
    profiles.write_states(
        conn,
        new=[s for s in states.values() if s.is_new],
        changed=[s for s in states.values() if not s.is_new and s.dirty],
        history=history,
        merged=moves,
        now=now,
    )
    if existing:
        # before the new identities go in: only the known ones need touching
        repo.touch_identities(conn, workspace_id=workspace_id, now=now)
    fresh = [(k, v, profile_of[owner[(k, v)]]) for (k, v) in all_keys if (k, v) not in existing]
    repo.insert_identities(conn, workspace_id=workspace_id, rows=fresh, now=now)
    if moves:
        repo.repoint_identities(conn, moves)
        repo.record_merges(conn, workspace_id=workspace_id, merges=resolution.merges, now=now)
        record_audits(
            conn,
            [
                {
                    "workspace_id": workspace_id,
                    "at": now,
                    "actor": "identity-resolver",
                    "action": "profile.merged",
                    "subject_type": "profile",
                    "subject_id": m.survivor_id,
                    "details": {"merged_id": m.merged_id, "event_seq": m.event_seq, **m.reason},
                }
                for m in resolution.merges
            ],
        )
        event_log.repoint_profiles(conn, moves)
    event_log.assign_profiles(conn, assignments)
    profiles.add_activity(conn, activity, now=now)
    result.profiles_created += len(new_states)
    result.merges += len(resolution.merges)


def _activity(
    rows: list[event_log.EventToResolve],
    event_profile: list[str | None],
    sources: dict[str, str],
) -> list[tuple[Any, ...]]:
    """Per profile: (id, events, first ts, last ts, orders, revenue, channel of the latest)."""
    acc: dict[str, list[Any]] = {}
    for n, row in enumerate(rows):
        pid = event_profile[n]
        if pid is None:
            continue
        ts = row.timestamp
        item = acc.get(pid)
        if item is None:
            item = acc[pid] = [pid, 0, ts, ts, 0, 0.0, None]
        item[1] += 1
        if ts < item[2]:
            item[2] = ts
        if ts >= item[3]:
            item[3] = ts
            item[6] = row.channel or sources.get(row.source_id, row.source_id)
        elif item[6] is None:
            item[6] = row.channel or sources.get(row.source_id, row.source_id)
        if row.order_value is not None:
            item[4] += 1
            item[5] += row.order_value
    return [tuple(v) for v in acc.values()]
