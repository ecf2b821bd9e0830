"""The journey worker loops: event consumer, timer scheduler, segment-change consumer and the
audience/auto-winner scheduler. Each exposes ``run_once(now)`` (what tests call).

Per-profile ordering: events are consumed in ``seq`` order by whoever holds the shard's lease
(``journey_leases``). Shards are ``crc32(profile_id) % shards`` (``PARTITUR_JOURNEY_SHARDS``,
default 1); each worker runs one event consumer per shard. With one shard a single consumer
holds the lease while it works and a second worker idles until the lease expires (30 s after
the holder last renewed it; an idle holder renews nothing, so after a quiet spell whoever
finds new events first takes the lease). With several shards the workers share them: each live
worker announces itself with a presence lease (``workers.<owner>``), takes a free shard only
while it holds fewer than its fair share (shards / live workers, rounded up) and hands back its
highest shard when it holds more, so a worker that joins gets shards within a lease period and
the shards of one that died are taken over once its leases expire. A shard changes hands only
between committed batches, and its cursor moves with it, so one profile's events stay in order.
Every instance write is also guarded by a revision check, so two workers can never both advance
one instance (the loser's transaction rolls back).
"""

from __future__ import annotations

import logging
import os
import socket
import zlib
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from partitur.context import Context
from partitur.core.durations import parse_duration
from partitur.core.errors import Conflict
from partitur.core.loops import LoopService
from partitur.journeys import ports, repository, service
from partitur.journeys.definition import AudienceEntry, JourneyDefinition
from partitur.journeys.tables import journey_leases, journey_versions, journeys
from partitur.storage.cursors import get_position, set_position

log = logging.getLogger(__name__)

LEASE_SECONDS = 30


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def take_lease(conn: Connection, *, name: str, owner: str, now: datetime) -> bool:
    """Take or renew a lease; False while another owner holds an unexpired one."""
    until = now + timedelta(seconds=LEASE_SECONDS)
    renewed = conn.execute(
        journey_leases.update()
        .where(
            journey_leases.c.name == name,
            (journey_leases.c.owner == owner) | (journey_leases.c.expires_at < now),
        )
        .values(owner=owner, expires_at=until)
    )
    if renewed.rowcount:
        return True
    exists = conn.execute(
        select(journey_leases.c.name).where(journey_leases.c.name == name)
    ).first()
    if exists is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(journey_leases.insert().values(name=name, owner=owner, expires_at=until))
    except IntegrityError:
        return False
    return True


def release_lease(conn: Connection, *, name: str, owner: str) -> None:
    """Give a lease back at once (if ``owner`` holds it)."""
    conn.execute(
        journey_leases.delete().where(
            journey_leases.c.name == name, journey_leases.c.owner == owner
        )
    )


PRESENCE = "workers."


def fair_shard_share(
    conn: Connection, *, owner: str, shards: int, prefix: str, now: datetime
) -> tuple[int, list[str]]:
    """Announce ``owner`` as a live worker; return its fair share of the ``shards`` (shards /
    live workers, rounded up) and the names of the shard leases (``prefix``...) it holds."""
    take_lease(conn, name=PRESENCE + owner, owner=owner, now=now)
    live = conn.execute(
        select(journey_leases.c.owner)
        .where(journey_leases.c.name.like(PRESENCE + "%"), journey_leases.c.expires_at >= now)
        .distinct()
    ).all()
    held = conn.execute(
        select(journey_leases.c.name).where(
            journey_leases.c.owner == owner,
            journey_leases.c.name.like(prefix + "%"),
            journey_leases.c.expires_at >= now,
        )
    ).scalars()
    return -(-shards // max(len(live), 1)), sorted(held)


def shard_of(profile_id: str, shards: int) -> int:
    return zlib.crc32(profile_id.encode()) % shards


class EventConsumer(LoopService):
    """Follows the event log by ``seq`` up to the identity-resolved position."""

    name = "journeys.events"
    wake_topic = "events"
    interval_seconds = 0.5

    def __init__(
        self,
        ctx: Context,
        *,
        batch: int = 1000,
        shard: int = 0,
        shards: int = 1,
        owner: str | None = None,
    ) -> None:
        super().__init__(ctx.clock, ctx.signals)
        # identity resolution notifies "profiles" after each batch it resolved: only then are
        # the new events below ``resolved_position``
        self.wake_topic = "profiles"
        self.ctx = ctx
        self.batch = batch
        self.shard = shard
        self.shards = shards
        self.owner = owner or owner_name()
        self.cursor = f"journeys.events.{shard}of{shards}"

    def _my_turn(self, conn: Connection, now: datetime) -> bool:
        """Whether this consumer may work its shard now (and holds its lease)."""
        if self.shards > 1:
            fair, held = fair_shard_share(
                conn,
                owner=self.owner,
                shards=self.shards,
                prefix="journeys.events.",
                now=now,
            )
            if self.cursor not in held and len(held) >= fair:
                return False  # this worker has its share; the shard is another's to take
            if self.cursor in held and len(held) > fair and self.cursor == held[-1]:
                release_lease(conn, name=self.cursor, owner=self.owner)
                return False  # more workers now: hand the highest shard over
        return take_lease(conn, name=self.cursor, owner=self.owner, now=now)

    def _behind(self) -> bool:
        """Whether resolved events wait beyond this consumer's cursor (a read)."""
        with self.ctx.store.read() as conn:
            return get_position(conn, self.cursor) < ports.resolved_position(conn)

    def run_once(self, now: datetime) -> int:
        # With one shard an idle pass is a read and takes no write lock (its lease may expire
        # meanwhile: whoever finds work first takes it). With several, every pass renews the
        # worker's presence and shares, so shards move to a joining worker while all is idle.
        if self.shards == 1 and not self._behind():
            return 0
        for _ in range(3):
            try:
                with self.ctx.store.begin() as conn:
                    if not self._my_turn(conn, now):
                        return 0
                    position = get_position(conn, self.cursor)
                    upto = ports.resolved_position(conn)
                    if upto <= position:
                        return 0
                    # only events some active journey reacts to are read (in SQL); with no
                    # journey reacting, the cursor moves past the new events without reading
                    reacting = reacting_events(conn, workspace_id=self.ctx.workspace_id, now=now)
                    rows: list[ports.LoggedEvent] = []
                    through = upto
                    if reacting:
                        rows, through = ports.events_after(
                            conn,
                            workspace_id=self.ctx.workspace_id,
                            after=position,
                            upto=upto,
                            limit=self.batch,
                            names=reacting,
                        )
                    mine = [
                        r
                        for r in rows
                        if self.shards == 1 or shard_of(r.profile_id, self.shards) == self.shard
                    ]
                    service.process_events(
                        conn, workspace_id=self.ctx.workspace_id, events=mine, now=now
                    )
                    set_position(conn, self.cursor, through, now)
                    return max(len(rows), 1)
            except Conflict:
                log.info("journey instance changed concurrently; retrying the event batch")
        return 0


def reacting_events(conn: Connection, *, workspace_id: str, now: datetime) -> set[str]:
    """The event names the active journeys react to (entries, waits, goals, exits)."""
    runner = service.Runner(conn, workspace_id=workspace_id, now=now)
    return {name for p in runner.active_journeys() for name in p.definition.referenced_events()}


class SegmentConsumer(LoopService):
    """Follows segment membership changes (segment entry/exit triggers and exit criteria)."""

    name = "journeys.segments"
    wake_topic = "profiles"
    interval_seconds = 1.0

    def __init__(self, ctx: Context, *, batch: int = 1000) -> None:
        super().__init__(ctx.clock, ctx.signals)
        self.ctx = ctx
        self.batch = batch
        self.owner = owner_name()

    def run_once(self, now: datetime) -> int:
        with self.ctx.store.read() as conn:  # an idle pass takes no write lock
            position = get_position(conn, "journeys.segments")
            if not ports.segment_changes(
                conn, workspace_id=self.ctx.workspace_id, after=position, limit=1
            ):
                return 0
        with self.ctx.store.begin() as conn:
            if not take_lease(conn, name="journeys.segments", owner=self.owner, now=now):
                return 0
            position = get_position(conn, "journeys.segments")
            changes = ports.segment_changes(
                conn, workspace_id=self.ctx.workspace_id, after=position, limit=self.batch
            )
            if not changes:
                return 0
            service.process_segment_changes(
                conn, workspace_id=self.ctx.workspace_id, changes=changes, now=now
            )
            set_position(conn, "journeys.segments", changes[-1].seq, now)
            return len(changes)


class TimerScheduler(LoopService):
    """Fires due timers (oldest first) in batches; each batch is one transaction.

    Between batches it sleeps until the next timer is due (at most the idle backoff's bound);
    a step that schedules a timer wakes it ("timers"), so a short wait is not overslept."""

    name = "journeys.timers"
    interval_seconds = 0.2
    wake_topic = "timers"

    def __init__(self, ctx: Context, *, batch: int = 1000) -> None:
        super().__init__(ctx.clock, ctx.signals)
        self.ctx = ctx
        self.batch = batch

    def run_once(self, now: datetime) -> int:
        with self.ctx.store.read() as conn:  # an idle pass takes no write lock
            due = repository.next_timer_due(conn, workspace_id=self.ctx.workspace_id)
        if due is None:
            return 0
        if due > now:
            self.due_in((due - now).total_seconds())
            return 0
        try:
            with self.ctx.store.begin() as conn:
                return service.fire_timers(
                    conn, workspace_id=self.ctx.workspace_id, now=now, limit=self.batch
                )
        except Conflict:
            log.info("journey instance changed concurrently; timers fire on the next pass")
            return 0


class AudienceScheduler(LoopService):
    """Starts audience runs that are due (once, or every ``every``)."""

    name = "journeys.audiences"
    interval_seconds = 5.0

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx.clock, ctx.signals)
        self.ctx = ctx

    def run_once(self, now: datetime) -> int:
        entered = 0
        with self.ctx.store.read() as conn:
            due = conn.execute(
                select(journeys.c.key).where(
                    journeys.c.workspace_id == self.ctx.workspace_id,
                    journeys.c.status == "active",
                    (journeys.c.next_audience_at.is_(None)) | (journeys.c.next_audience_at <= now),
                )
            ).all()
        for row in due:
            entered += run_audience(self.ctx, key=row.key, now=now, only_if_due=True)
        return entered


def run_audience(ctx: Context, *, key: str, now: datetime, only_if_due: bool = False) -> int:
    """Enrol a segment's members into an audience journey, chunk by chunk (one transaction per
    chunk; instances start via their start timer). Returns profiles enrolled."""
    with ctx.store.read() as conn:
        row = conn.execute(
            select(
                journeys.c.id,
                journeys.c.latest_version,
                journeys.c.next_audience_at,
                journey_versions.c.definition,
            )
            .join(
                journey_versions,
                (journey_versions.c.journey_id == journeys.c.id)
                & (journey_versions.c.version == journeys.c.latest_version),
            )
            .where(journeys.c.workspace_id == ctx.workspace_id, journeys.c.key == key)
        ).first()
    if row is None:
        return 0
    definition = JourneyDefinition.model_validate(row.definition)
    entry = definition.entry
    if not isinstance(entry, AudienceEntry):
        return 0
    if only_if_due and entry.start_at is not None and entry.start_at > now:
        return 0
    total = 0
    with ctx.store.read() as conn:
        chunks = list(
            ports.audience(conn, workspace_id=ctx.workspace_id, segment_key=entry.segment)
        )
    for chunk in chunks:
        with ctx.store.begin() as conn:
            total += service.enrol_bulk(
                conn,
                workspace_id=ctx.workspace_id,
                journey_id=row.id,
                version=row.latest_version,
                profile_ids=chunk,
                now=now,
                policy_never=definition.re_entry.policy == "never",
            )
    next_at = now + parse_duration(entry.every) if entry.every else service.NEVER
    with ctx.store.begin() as conn:
        conn.execute(
            journeys.update().where(journeys.c.id == row.id).values(next_audience_at=next_at)
        )
    return total


def build_loops(ctx: Context) -> list[LoopService]:
    shards = max(1, ctx.settings.journey_shards)
    consumers: list[LoopService] = [
        EventConsumer(ctx, shard=shard, shards=shards) for shard in range(shards)
    ]
    return [*consumers, TimerScheduler(ctx), SegmentConsumer(ctx), AudienceScheduler(ctx)]
