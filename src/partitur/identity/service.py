"""Identity resolution: link each event's identifiers to one profile, merge where a link joins
two profiles, and keep profiles' traits and computed traits current. Set-based per batch.

The resolver follows the event log by ``seq`` (cursor ``identity.resolver``) and handles one
batch per transaction; ``resolved_position`` tells other domains how far every event has a
``profile_id``.

A pass (``run_resolution_pass``) reads (``identity.reader``), plans (``identity.planner``,
pure) and writes (``identity.writer``, which owns the connection and its thread while it
writes), one workspace's share of the batch at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from partitur.core.ids import new_ids
from partitur.core.memory import collector_paused
from partitur.events import resolution as event_log
from partitur.events import service as events
from partitur.identity import planner, writer
from partitur.identity import repository as repo
from partitur.identity.contracts import ResolutionStatus, SuppressedIdentifier

# identity's rules that other domains apply (profile lookups and imports, erasure's hashes)
from partitur.identity.extract import Blocklist as Blocklist
from partitur.identity.extract import Identifier as Identifier
from partitur.identity.extract import normalise_email as normalise_email
from partitur.identity.extract import normalise_id as normalise_id
from partitur.identity.extract import normalise_phone as normalise_phone
from partitur.identity.extract import value_hash as value_hash
from partitur.identity.graph import DEFAULT_LIMITS
from partitur.identity.planner import PassInput
from partitur.identity.reader import IdentifierRules, known_graph, read_pass
from partitur.identity.tables import identity_merges
from partitur.profiles import service as profiles
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

    def rules(self) -> IdentifierRules:
        """How this configuration tells the identifiers of a message."""
        return IdentifierRules(
            blocked_values=self.blocked_values, external_id_traits=self.external_id_traits
        )


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
    # a backlog's pass makes millions of small objects that the cyclic collector would scan
    # again and again (more than half of a pass, see core.memory); merges re-point events all
    # over the log, hence the larger page cache
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
    window = _Window(after=start, upto=max(upto, after), rules=config.rules())
    work = read_pass(conn, after=window.after, upto=window.upto, rules=window.rules)
    for workspace_id in list(work):
        result.events += sum(unit.events for unit in work[workspace_id].units)
        _resolve_workspace(conn, work, workspace_id, window, config, now, result)
    if upto > after:
        set_position(conn, CURSOR, upto, now)
        result.position = upto
    return result


@dataclass(frozen=True)
class _Window:
    """The seq range a pass reads, and how it tells identifiers."""

    after: int
    upto: int
    rules: IdentifierRules


def _resolve_workspace(
    conn: Connection,
    work: dict[str, PassInput],
    workspace_id: str,
    window: _Window,
    config: ResolverConfig,
    now: datetime,
    result: PassResult,
) -> None:
    """Plan and write one workspace's share of the pass (taken out of ``work``: the pass lets
    go of it once it is written)."""
    inp = work.pop(workspace_id)
    # the suppression list: events of erased people are dropped and counted, then the
    # workspace's share is read again
    if repo.has_suppressions(conn, workspace_id=workspace_id) and _drop_suppressed(
        conn, inp, result
    ):
        again = read_pass(conn, after=window.after, upto=window.upto, rules=window.rules)
        if workspace_id in again:
            _resolve_workspace(conn, again, workspace_id, window, config, now, result)
        return

    # the graph around the pass's identifiers, and the profiles it holds in memory: those
    # about to merge (their ages pick the survivors) and those whose traits change (the
    # last reads)
    sights = planner.sightings(inp)
    known = known_graph(conn, workspace_id=workspace_id, keys=sights.keys, limits=config.limits)
    linking = planner.link(inp, sights, known, limits=config.limits)
    states = profiles.load_states(conn, linking.held)
    sources = {s.id: s.name for s in list_sources(conn, workspace_id=workspace_id)}
    identities = planner.plan_identities(
        inp,
        sights,
        linking,
        known,
        ages={pid: state.created_at for pid, state in states.items()},
        new_profile_ids=new_ids("prf", linking.new_profiles),
    )
    result.refused_links += identities.refused
    result.profiles_created += len(identities.new_profiles)
    result.merges += len(identities.merges)
    # from here on the writer owns the connection: each stage is written on its thread
    # while the next is planned here. (``writer`` is imported as a module: it uses
    # profiles.service, which uses this module, so its names exist only once it has loaded.)
    with writer.pass_writer(conn, workspace_id=workspace_id, now=now) as writes:
        writes.write_identities(identities, inp.units)
        writes.write_traits(planner.plan_traits(inp, identities, states, now=now))
        writes.write_profiles(
            planner.plan_profiles(inp, identities, states, sources=sources), identities
        )
        # Everything is submitted; what the pass holds in memory goes now, while the writer
        # works, not after it: freeing a backlog's millions of small objects takes most of a
        # second of the GIL, which the writer's statements do not need.
        del inp, sights, known, linking, states, identities


def _drop_suppressed(conn: Connection, inp: PassInput, result: PassResult) -> bool:
    """Delete the events naming an erased identifier and count them per identifier; False if
    the pass names none."""
    hashed = planner.suppression_hashes(inp)
    hit = repo.suppressed_among(
        conn, workspace_id=inp.workspace_id, hashes=list(set(hashed.values()))
    )
    if not hit:
        return False
    drops = planner.plan_drops(inp, hashed, hit)
    result.dropped += event_log.delete_units(conn, drops.units) + event_log.delete_events(
        conn, drops.seqs
    )
    repo.count_dropped(conn, workspace_id=inp.workspace_id, counts=drops.counts)
    return True


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
