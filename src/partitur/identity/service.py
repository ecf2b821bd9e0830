"""Identity resolution: link each event's identifiers to one profile, merge where a link joins
two profiles, and keep profiles' traits and computed traits current. Set-based per batch.

The resolver follows the event log by ``seq`` (cursor ``identity.resolver``) and handles one
batch per transaction; ``resolved_position`` tells other domains how far every event has a
``profile_id``.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from partitur.core.ids import new_ids
from partitur.core.memory import collector_paused
from partitur.events import resolution as event_log
from partitur.events import service as events
from partitur.events.contracts import PROFILE_ANONYMOUS_PREFIX
from partitur.events.resolution import event_time
from partitur.identity import repository as repo
from partitur.identity.contracts import ResolutionStatus, SuppressedIdentifier

# identity's rules that other domains apply (profile lookups and imports, erasure's hashes)
from partitur.identity.extract import Blocklist as Blocklist
from partitur.identity.extract import Identifier as Identifier
from partitur.identity.extract import extract_identifiers, key_identifiers
from partitur.identity.extract import normalise_email as normalise_email
from partitur.identity.extract import normalise_id as normalise_id
from partitur.identity.extract import normalise_phone as normalise_phone
from partitur.identity.extract import value_hash as value_hash
from partitur.identity.graph import DEFAULT_LIMITS, resolve
from partitur.identity.tables import identity_merges
from partitur.profiles import service as profiles
from partitur.profiles.traits import (
    LOCALE_WIDTH,
    TIMEZONE_WIDTH,
    HistoryRow,
    ProfileState,
    add_activity,
    apply_place,
    apply_traits,
    place_value,
    stamp,
)
from partitur.storage.audit import AuditRecord, write_audits
from partitur.storage.background import background_writes
from partitur.storage.bulk import page_cache
from partitur.storage.cursors import get_position, set_position
from partitur.storage.tables import loop_cursors
from partitur.workspaces.service import list_sources

log = logging.getLogger(__name__)

CURSOR = "identity.resolver"


@dataclass
class ResolverConfig:
    blocked_values: list[str]
    external_id_traits: list[str]
    limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    #: most events per pass. While the resolver keeps up, a pass takes what is pending (a few
    #: hundred events); a backlog (after a bulk import or downtime) goes in passes this large:
    #: each person's events are summed up once per pass, so 1M events take a third less time
    #: in one pass than in five (bench/identity.py). The price: on SQLite a pass holds the write
    #: lock while it runs (about 30 s for 1M events), and ingestion waits for it.
    batch_size: int = 1_000_000
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


def has_pending(conn: Connection) -> bool:
    """Whether events wait for resolution: new ones after the cursor, or older ones committed
    late (PostgreSQL). Two index lookups and no write, so an idle resolver pass stays a read."""
    after = get_position(conn, CURSOR)
    count, _ = event_log.pending_window(conn, after=after, limit=1)
    return count > 0 or event_log.first_unresolved_seq(conn, upto=after) is not None


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
    extract = _Identifiers(config)
    work = _read(conn, after=start, upto=max(upto, after), extract=extract)
    for workspace_id in list(work):
        # handed over whole: _resolve_workspace lets go of the batch once it is written
        batch = work.pop(workspace_id)
        result.events += sum(unit.events for unit in batch.units)
        _resolve_workspace(conn, batch, config, extract, now, result)
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


@dataclass
class _Batch:
    """One workspace's share of a pass: the seq range read, its units and identity documents."""

    workspace_id: str
    after: int
    upto: int
    units: list[event_log.ResolveUnit] = field(default_factory=list)
    docs: list[event_log.IdentityDoc] = field(default_factory=list)
    #: the identifiers of each document
    doc_ids: list[tuple[Identifier, ...]] = field(default_factory=list)


class _Identifiers:
    """Identifiers of units and documents."""

    def __init__(self, config: ResolverConfig) -> None:
        self.blocklist = Blocklist(config.blocked_values)
        self.ext_traits = config.external_id_traits

    def of_key(self, user_id: Any, anonymous_id: Any) -> tuple[Identifier, ...]:
        return key_identifiers(user_id, anonymous_id, self.blocklist)

    def of_doc(self, doc: event_log.IdentityDoc) -> tuple[Identifier, ...]:
        return extract_identifiers(
            user_id=doc.user_id,
            anonymous_id=doc.anonymous_id,
            traits=doc.traits if isinstance(doc.traits, dict) else None,
            context_traits=doc.context_traits if isinstance(doc.context_traits, dict) else None,
            external_ids=doc.external_ids,
            previous_id=doc.previous_id,
            external_id_traits=self.ext_traits,
            blocklist=self.blocklist,
        )


def _read(conn: Connection, *, after: int, upto: int, extract: _Identifiers) -> dict[str, _Batch]:
    """The units and identity documents (with their identifiers) of ``after < seq <= upto``,
    by workspace."""
    if conn.dialect.name == "sqlite":
        # the write lock is held, so nothing commits between the reads: the documents first,
        # then the units' GROUP BY (seconds for a backlog; SQLite runs it without the GIL) on
        # a thread of its own while this one extracts the documents' identifiers
        docs = event_log.identity_documents(conn, after=after, upto=upto)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="partitur-read") as pool:
            pending = pool.submit(event_log.resolve_units, conn, after=after, upto=upto)
            doc_ids = [extract.of_doc(d) for d in docs]
            units = pending.result()
    else:
        units = event_log.resolve_units(conn, after=after, upto=upto)
        docs = event_log.identity_documents(conn, after=after, upto=upto)
        # PostgreSQL reads each statement from a fresh snapshot: an event committed between
        # the two reads waits for the next pass
        seen = {seq for unit in units for seq in event_log.seqs_of(unit)}
        docs = [doc for doc in docs if doc.seq in seen]
        doc_ids = [extract.of_doc(d) for d in docs]
    work: dict[str, _Batch] = {}
    for unit in units:
        if unit.workspace_id not in work:
            work[unit.workspace_id] = _Batch(unit.workspace_id, after, upto)
        work[unit.workspace_id].units.append(unit)
    for doc, ids in zip(docs, doc_ids, strict=True):
        batch = work[doc.workspace_id]
        batch.docs.append(doc)
        batch.doc_ids.append(ids)
    return work


def _resolve_workspace(
    conn: Connection,
    batch: _Batch,
    config: ResolverConfig,
    extract: _Identifiers,
    now: datetime,
    result: PassResult,
) -> None:
    workspace_id = batch.workspace_id
    # 1. identifiers: a unit's are its user_id and anonymous_id; where those name nobody
    # (blocked values), its events are taken one by one
    units = batch.units
    key_ids = [extract.of_key(u.user_id, u.anonymous_id) for u in units]
    blocked = [
        (workspace_id, u.user_id or "", u.anonymous_id or "")
        for u, ids in zip(units, key_ids, strict=True)
        if not ids and not u.per_event
    ]
    if blocked:
        units = [u for u, ids in zip(units, key_ids, strict=True) if ids or u.per_event]
        units += event_log.resolve_units(
            conn, after=batch.after, upto=batch.upto, per_event_keys=blocked
        )
        key_ids = [extract.of_key(u.user_id, u.anonymous_id) for u in units]
    docs, doc_ids = batch.docs, batch.doc_ids

    # 2. the suppression list: events of erased people are dropped and counted
    if repo.has_suppressions(conn, workspace_id=workspace_id) and _drop_suppressed(
        conn, batch, units, key_ids, docs, doc_ids, result
    ):
        again = _read(conn, after=batch.after, upto=batch.upto, extract=extract)
        if workspace_id in again:
            _resolve_workspace(conn, again[workspace_id], config, extract, now, result)
        return

    # 3. the existing graph around this batch's identifiers
    distinct: dict[tuple[Identifier, ...], int] = {}
    for seq, ids in itertools.chain(
        ((u.first_seq, ids) for u, ids in zip(units, key_ids, strict=True)),
        ((d.seq, ids) for d, ids in zip(docs, doc_ids, strict=True)),
    ):
        if ids and distinct.get(ids, seq) >= seq:
            distinct[ids] = seq
    all_keys = list({i for ids in distinct for i in ids})
    existing = repo.existing_identities(conn, workspace_id=workspace_id, keys=all_keys)
    existing.update(
        _platform_profiles(conn, workspace_id, [k for k in all_keys if k not in existing])
    )
    involved = set(existing.values())
    limited = repo.limited_values(conn, profile_ids=involved, kinds=config.limits)
    # the profiles about to merge are loaded once: for their ages (the oldest survives) and
    # for folding them together
    merging: dict[str, ProfileState] = {}

    def ages(ids: list[str]) -> dict[str, datetime]:
        merging.update(profiles.load_states(conn, ids))
        return {pid: state.created_at for pid, state in merging.items()}

    resolution = resolve(
        sorted(((seq, ids) for ids, seq in distinct.items()), key=lambda t: t[0]),
        existing=existing,
        profile_limited=limited,
        profile_age=ages,
        limits=config.limits,
    )
    result.refused_links += resolution.refused

    # 4. the profile of each unit and document: its anchor identifier's; an event with
    # nothing but blocked values gets a profile of its own, linked to nothing
    owner = resolution.owner
    single_ids = {d.seq: ids for d, ids in zip(docs, doc_ids, strict=True) if ids}
    anchors = [
        ids or (single_ids.get(u.first_seq, ()) if u.per_event else ())
        for u, ids in zip(units, key_ids, strict=True)
    ]
    isolated = sum(1 for ids in anchors if not ids)
    wanted = sum(1 for p in resolution.profile_of_component.values() if p is None) + isolated
    fresh_ids = iter(new_ids("prf", wanted))
    created: list[str] = []  # in the order given out: ascending

    def new_profile() -> str:
        profile_id = next(fresh_ids)
        created.append(profile_id)
        return profile_id

    profile_of = {
        comp: pid if pid is not None else new_profile()
        for comp, pid in resolution.profile_of_component.items()
    }
    unit_profile = [profile_of[owner[ids[0]]] if ids else new_profile() for ids in anchors]
    single_profile = {
        u.first_seq: pid for u, pid in zip(units, unit_profile, strict=True) if u.per_event
    }
    doc_profile = [
        profile_of[owner[ids[0]]] if ids else single_profile[d.seq]
        for d, ids in zip(docs, doc_ids, strict=True)
    ]

    # 5. the profiles held in memory: merging ones and those whose traits change (the last
    # reads)
    moves = {m.merged_id: m.survivor_id for m in resolution.merges}
    trait_docs = [
        n for n, d in enumerate(docs) if (d.traits or d.context_traits) and d.type != "group"
    ]
    needed = set(moves) | set(moves.values())
    is_new = set(created)
    needed.update(doc_profile[n] for n in trait_docs if doc_profile[n] not in is_new)
    states = profiles.load_states(conn, needed - merging.keys())
    states.update(merging)
    sources = {s.id: s.name for s in list_sources(conn, workspace_id=workspace_id)}

    # 6. the writes, from here on a thread of their own (the connection's last use here):
    # the events and the graph first, while the profiles are worked out
    with background_writes(conn) as writes:
        if existing:
            # before the new identities go in: only the known ones need touching
            writes.submit(repo.touch_identities, conn, workspace_id=workspace_id, now=now)
        writes.submit(event_log.assign_units, conn, list(zip(units, unit_profile, strict=True)))
        # sorted while the events are written
        fresh = _in_key_order(
            [(*key, profile_of[owner[key]]) for key in all_keys if key not in existing]
        )
        writes.submit(repo.insert_identities, conn, workspace_id=workspace_id, rows=fresh, now=now)
        # the new profiles' states, while the events are written
        states.update(
            (pid, ProfileState(id=pid, workspace_id=workspace_id, created_at=now, is_new=True))
            for pid in created
        )
        if moves:
            writes.submit(repo.repoint_identities, conn, moves)
            writes.submit(event_log.repoint_profiles, conn, moves)

        # 7. merges fold losers into survivors (traits by recency, counts add up), then
        # traits from identify traits and context.traits apply, oldest first
        for merge in resolution.merges:
            profiles.merge_states(states[merge.survivor_id], states[merge.merged_id])
        history = _apply_traits(docs, trait_docs, doc_profile, states)
        # in index order, each profile's changes of a trait still oldest first (stable sort);
        # written while the activity is folded (a merged profile's older history moves to its
        # survivor in write_state_rows, which leaves these rows of survivors alone)
        history.sort(key=attrgetter("profile_id", "trait"))
        writes.submit(profiles.insert_history_rows, conn, profiles.history_rows(conn, history))
        # 8. activity (counts, first/last seen, channel, locale, timezone): folded into the
        # profiles held in memory, set-based in SQL for the rest
        activity = _fold_activity(units, unit_profile, sources, states)
        rows = profiles.state_rows(
            conn,
            new=[s for s in states.values() if s.is_new],
            # merged profiles are emptied by mark_merged
            changed=[s for s in states.values() if s.dirty and not s.is_new and s.id not in moves],
            history=(),
            now=now,
        )
        writes.submit(profiles.write_state_rows, conn, rows, now=now, merged=moves)
        writes.submit(profiles.add_activity, conn, activity, now=now)
        if moves:
            writes.submit(
                repo.record_merges,
                conn,
                workspace_id=workspace_id,
                merges=resolution.merges,
                now=now,
            )
            writes.submit(
                write_audits,
                conn,
                [
                    AuditRecord(
                        workspace_id=workspace_id,
                        at=now,
                        actor="system:identity",
                        action="profile.merge",
                        subject_type="profile",
                        subject_id=m.survivor_id,
                        details={"merged_id": m.merged_id, "event_seq": m.event_seq, **m.reason},
                    )
                    for m in resolution.merges
                ],
            )
        result.profiles_created += len(created)
        result.merges += len(resolution.merges)
        # Everything is submitted; what the pass holds in memory goes now, while the writer
        # works, not after it: freeing a backlog's millions of small objects takes most of a
        # second of the GIL, which the writer's statements do not need.
        batch.units, batch.docs, batch.doc_ids = [], [], []
        del units, key_ids, docs, doc_ids, distinct, all_keys, existing, involved, limited
        merging.clear()  # held by ``ages`` too
        del resolution, owner, single_ids, anchors, profile_of, unit_profile
        del single_profile, doc_profile, moves, trait_docs, needed, states, fresh, history
        del activity, rows


def _in_key_order(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(kind, value, profile_id) rows with distinct (kind, value), sorted as the graph's
    primary key: appended to it, not spread over it. By kind, then each kind's values (a
    third of the time of sorting the tuples)."""
    by_kind: defaultdict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for row in rows:
        by_kind[row[0]].append(row)
    ordered: list[tuple[str, str, str]] = []
    for kind in sorted(by_kind):
        group = by_kind[kind]
        group.sort(key=itemgetter(1))
        ordered += group
    return ordered


def _apply_traits(
    docs: list[event_log.IdentityDoc],
    trait_docs: list[int],
    doc_profile: list[str],
    states: dict[str, ProfileState],
) -> list[HistoryRow]:
    """Traits (and an identify's ``traits.timezone``) of the documents ``trait_docs`` (indices),
    applied oldest first to the profiles in ``states``; returns the history rows."""
    history: list[HistoryRow] = []
    moments = {n: event_time(docs[n].timestamp) for n in trait_docs}
    for n in sorted(trait_docs, key=lambda n: (moments[n], docs[n].seq)):
        doc, at = docs[n], moments[n]
        state = states[doc_profile[n]]
        source = f"event:{doc.seq}"
        if isinstance(doc.context_traits, dict) and doc.context_traits:
            history += apply_traits(state, doc.context_traits, at=at, source=source)
        if doc.type == "identify" and isinstance(doc.traits, dict) and doc.traits:
            history += apply_traits(state, doc.traits, at=at, source=source)
            if doc.timezone is None:
                apply_place(state, timezone=doc.traits.get("timezone"), locale=None, at=at)
    return history


def _fold_activity(
    units: list[event_log.ResolveUnit],
    unit_profile: list[str],
    sources: dict[str, str],
    states: dict[str, ProfileState],
) -> list[tuple[Any, ...]]:
    """Activity per profile: added to the ``states`` held in memory; returned as rows for
    ``profiles.add_activity`` for the rest."""
    activity: list[tuple[Any, ...]] = []
    for item in _activity(units, unit_profile, sources):
        (pid, events, first, last, orders, revenue, channel, _, locale, locale_at, tz, tz_at) = item
        held = states.get(pid)
        if held is None:
            activity.append(
                (
                    pid,
                    events,
                    first,
                    last,
                    orders,
                    revenue,
                    channel,
                    place_value(locale, LOCALE_WIDTH),
                    stamp(event_time(locale_at[0])) if locale_at else None,
                    place_value(tz, TIMEZONE_WIDTH),
                    stamp(event_time(tz_at[0])) if tz_at else None,
                )
            )
            continue
        add_activity(
            held,
            events=events,
            first=event_time(first),
            last=event_time(last),
            orders=orders,
            revenue=revenue,
            channel=channel,
        )
        if locale_at:
            apply_place(held, timezone=None, locale=locale, at=event_time(locale_at[0]))
        if tz_at:
            apply_place(held, timezone=tz, locale=None, at=event_time(tz_at[0]))
    return activity


def _drop_suppressed(
    conn: Connection,
    batch: _Batch,
    units: list[event_log.ResolveUnit],
    key_ids: list[tuple[Identifier, ...]],
    docs: list[event_log.IdentityDoc],
    doc_ids: list[tuple[Identifier, ...]],
    result: PassResult,
) -> bool:
    """Delete the events naming an erased identifier and count them per identifier; False if
    there were none."""
    keys = {i for ids in itertools.chain(key_ids, doc_ids) for i in ids}
    hashed = {i: (i[0], value_hash(*i)) for i in keys}
    hit = repo.suppressed_among(
        conn, workspace_id=batch.workspace_id, hashes=list(set(hashed.values()))
    )
    if not hit:
        return False
    dropped_by: dict[tuple[str, str], int] = defaultdict(int)
    drop_units: list[event_log.ResolveUnit] = []
    unit_hits: dict[Any, set[tuple[str, str]]] = {}
    for unit, ids in zip(units, key_ids, strict=True):
        hits = {hashed[i] for i in ids if hashed[i] in hit}
        unit_hits[unit.first_seq if unit.per_event else (unit.user_id, unit.anonymous_id)] = hits
        if hits:
            drop_units.append(unit)
            for h in hits:
                dropped_by[h] += unit.events
    drop_seqs = []
    for doc, ids in zip(docs, doc_ids, strict=True):
        own = unit_hits.get(doc.seq)
        if own is None:
            own = unit_hits.get((doc.user_id, doc.anonymous_id), set())
        more = {hashed[i] for i in ids if hashed[i] in hit} - own
        if more and not own:
            drop_seqs.append(doc.seq)
        for h in more:
            dropped_by[h] += 1
    dropped = event_log.delete_units(conn, drop_units) + event_log.delete_events(conn, drop_seqs)
    repo.count_dropped(conn, workspace_id=batch.workspace_id, counts=dropped_by)
    result.dropped += dropped
    return True


def _activity(
    units: list[event_log.ResolveUnit], unit_profile: list[str], sources: dict[str, str]
) -> list[tuple[Any, ...]]:
    """Per profile: (id, events, first ts, last ts, orders, revenue, channel of the latest,
    (last ts, seq), locale, (its ts, seq), timezone, (its ts, seq)) from its units."""
    acc: dict[str, list[Any]] = {}
    for unit, pid in zip(units, unit_profile, strict=True):
        channel = unit.channel or sources.get(unit.source_id, unit.source_id)
        latest = (unit.last_ts, unit.last_seq)
        locale_at = (unit.locale_ts, unit.locale_seq) if unit.locale_seq is not None else None
        tz_at = (unit.timezone_ts, unit.timezone_seq) if unit.timezone_seq is not None else None
        item = acc.get(pid)
        if item is None:
            acc[pid] = [
                pid,
                unit.events,
                unit.first_ts,
                unit.last_ts,
                unit.orders,
                unit.revenue,
                channel,
                latest,
                unit.locale,
                locale_at,
                unit.timezone,
                tz_at,
            ]
            continue
        item[1] += unit.events
        if unit.first_ts < item[2]:
            item[2] = unit.first_ts
        if latest > item[7]:
            item[3], item[6], item[7] = unit.last_ts, channel, latest
        item[4] += unit.orders
        item[5] += unit.revenue
        if locale_at is not None and (item[9] is None or locale_at > item[9]):
            item[8], item[9] = unit.locale, locale_at
        if tz_at is not None and (item[11] is None or tz_at > item[11]):
            item[10], item[11] = unit.timezone, tz_at
    return [tuple(v) for v in acc.values()]


# -- what other domains read and ask of the identity graph ---------------------------------------


def identities_of(conn: Connection, profile_id: str) -> dict[str, list[str]]:
    """A profile's identifiers by kind, oldest first."""
    return repo.identities_of(conn, profile_id)


def profile_for_identity(
    conn: Connection, *, workspace_id: str, kind: str, value: str
) -> str | None:
    """The profile holding the (normalised) identifier, if any."""
    return repo.profile_for_identity(conn, workspace_id=workspace_id, kind=kind, value=value)


def first_user_ids(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str]
) -> dict[str, str]:
    """The first user id of each profile that has one (lists of people show it)."""
    return repo.first_user_ids(conn, workspace_id=workspace_id, profile_ids=profile_ids)


def limited_values(
    conn: Connection, *, profile_ids: Iterable[str], kinds: Iterable[str]
) -> dict[str, dict[str, set[str]]]:
    """The values of the limited identifier kinds each profile holds."""
    return repo.limited_values(conn, profile_ids=profile_ids, kinds=kinds)


def insert_identities(
    conn: Connection, *, workspace_id: str, rows: Sequence[tuple[str, str, str]], now: datetime
) -> None:
    """New (kind, value, profile_id) identifiers (a profile import attaches them)."""
    repo.insert_identities(conn, workspace_id=workspace_id, rows=rows, now=now)


def merges_of(conn: Connection, profile_id: str) -> list[dict[str, Any]]:
    """The merge records a profile took part in, oldest first."""
    return repo.merges_of(conn, profile_id)


def merges_since(conn: Connection, *, after: int, limit: int) -> tuple[int, list[tuple[str, str]]]:
    """Identity merges after merge id ``after`` (at most ``limit``): the last id read and
    ``(workspace_id, profile_id)`` of every survivor and every merged-away profile."""
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


def erase_identities(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str]
) -> dict[str, int]:
    """Delete the identifiers and merge records of these profiles (erasure)."""
    return repo.erase_identities(conn, workspace_id=workspace_id, profile_ids=profile_ids)


def suppress_identifiers(
    conn: Connection, *, workspace_id: str, hashes: Iterable[tuple[str, str]], now: datetime
) -> int:
    """Keep (kind, value hash) pairs of an erased person off the graph: later messages carrying
    them are dropped, never resolved into a new profile."""
    return repo.suppress(conn, workspace_id=workspace_id, hashes=hashes, now=now)


def suppression_rows(conn: Connection, *, workspace_id: str) -> list[dict[str, Any]]:
    return repo.suppression_rows(conn, workspace_id=workspace_id)


def resolution_status(conn: Connection, *, workspace_id: str) -> ResolutionStatus:
    """How far identity resolution has come through the workspace's events."""
    position = resolved_position(conn)
    latest, pending = events.backlog_after(conn, workspace_id=workspace_id, after=position)
    return ResolutionStatus(
        resolved_position=min(position, latest), latest_seq=latest, pending_events=pending
    )


def suppressed_identifiers(conn: Connection, *, workspace_id: str) -> list[SuppressedIdentifier]:
    """The identifiers of erased people (hashes only) and how many messages each stopped."""
    return [
        SuppressedIdentifier.model_validate(r)
        for r in repo.suppression_rows(conn, workspace_id=workspace_id)
    ]
