"""Background loops that keep segment membership current.

* ``EventMembershipLoop`` follows the ``events`` table by ``seq`` (its own cursor) up to the
  identity resolver's position and re-evaluates only the profiles the new events touched and
  only the segments whose rules could change (wakes on the "events" topic);
* ``TraitMembershipLoop`` follows ``trait_history`` by id for trait changes made outside events
  (API, imports; wakes on "profiles");
* ``MergeMembershipLoop`` follows identity merges: the merged-away profile leaves its segments,
  the survivor is re-evaluated (wakes on "profiles");
* ``WindowCheckLoop`` re-evaluates profile/segment pairs whose window edge has passed.

Each notifies the "segments" topic after membership changed, so journeys wake at once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from partitur.context import Context
from partitur.core.loops import LoopService
from partitur.events import service as events
from partitur.identity import service as identity
from partitur.profiles import service as profiles
from partitur.segments import membership
from partitur.segments import repository as repo
from partitur.storage.cursors import get_position, set_position

log = logging.getLogger(__name__)

EVENTS_CURSOR = "segments.events"
TRAITS_CURSOR = "segments.traits"
MERGES_CURSOR = "segments.merges"


class _SegmentsLoop(LoopService):
    def __init__(self, ctx: Context, batch: int | None = None) -> None:
        super().__init__(clock=ctx.clock, signals=ctx.signals)
        self.ctx = ctx
        if batch is not None:
            self.batch = batch

    batch = 5000

    def _announce(self, changed: int) -> None:
        if changed:
            self.ctx.signals.notify("segments")


class EventMembershipLoop(_SegmentsLoop):
    name = "segments.events"
    wake_topic = "events"
    interval_seconds = 1.0

    def run_once(self, now: datetime) -> int:
        """Process up to ``batch`` event seqs; returns how many seqs were consumed."""
        with self.ctx.store.read() as conn:  # an idle pass takes no write lock
            if identity.resolved_position(conn) <= get_position(conn, EVENTS_CURSOR):
                return 0
        changed = 0
        with self.ctx.store.begin() as conn:
            repo.lock_memberships(conn)
            after = get_position(conn, EVENTS_CURSOR)
            upto = min(identity.resolved_position(conn), after + self.batch)
            if upto <= after:
                return 0
            wanted: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
            indexes: dict[str, membership.SegmentIndex] = {}
            for ws, pid, name, traits in events.touched_by_events(conn, after=after, upto=upto):
                if ws not in indexes:
                    indexes[ws] = membership.SegmentIndex.load(conn, ws)
                keys = indexes[ws].affected(name, traits)
                if keys:
                    wanted[ws][pid] |= keys
            for ws, per_profile in wanted.items():
                changed += len(
                    membership.refresh_profiles(
                        conn, workspace_id=ws, wanted=dict(per_profile), now=now, index=indexes[ws]
                    )
                )
            set_position(conn, EVENTS_CURSOR, upto, now)
        self._announce(changed)
        return upto - after


class TraitMembershipLoop(_SegmentsLoop):
    name = "segments.traits"
    wake_topic = "profiles"
    interval_seconds = 2.0

    def run_once(self, now: datetime) -> int:
        with self.ctx.store.read() as conn:  # an idle pass takes no write lock
            after = get_position(conn, TRAITS_CURSOR)
            if profiles.trait_changes(conn, after=after, limit=1)[0] <= after:
                return 0
        changed = 0
        with self.ctx.store.begin() as conn:
            repo.lock_memberships(conn)
            after = get_position(conn, TRAITS_CURSOR)
            upto, touched = profiles.trait_changes(conn, after=after, limit=self.batch)
            if upto <= after:
                return 0
            by_ws: dict[str, list[str]] = defaultdict(list)
            for pid, ws in profiles.profile_workspaces(conn, touched).items():
                by_ws[ws].append(pid)
            for ws, pids in by_ws.items():
                index = membership.SegmentIndex.load(conn, ws)
                keys = index.by_traits | index.by_computed
                if keys:
                    changed += len(
                        membership.refresh_profiles(
                            conn,
                            workspace_id=ws,
                            wanted={pid: set(keys) for pid in pids},
                            now=now,
                            index=index,
                        )
                    )
            set_position(conn, TRAITS_CURSOR, upto, now)
        self._announce(changed)
        return upto - after


class MergeMembershipLoop(_SegmentsLoop):
    """When identity resolution merges two profiles, the merged-away one leaves every segment
    and the survivor (now with both histories) is re-evaluated against every segment."""

    name = "segments.merges"
    wake_topic = "profiles"
    interval_seconds = 2.0

    def run_once(self, now: datetime) -> int:
        with self.ctx.store.read() as conn:  # an idle pass takes no write lock
            after = get_position(conn, MERGES_CURSOR)
            if identity.merges_since(conn, after=after, limit=1)[0] <= after:
                return 0
        changed = 0
        with self.ctx.store.begin() as conn:
            repo.lock_memberships(conn)
            after = get_position(conn, MERGES_CURSOR)
            upto, touched = identity.merges_since(conn, after=after, limit=self.batch)
            if upto <= after:
                return 0
            by_ws: dict[str, set[str]] = defaultdict(set)
            for ws, pid in touched:
                by_ws[ws].add(pid)
            for ws, pids in by_ws.items():
                index = membership.SegmentIndex.load(conn, ws)
                everything = set(index.rules)
                changed += len(
                    membership.refresh_profiles(
                        conn,
                        workspace_id=ws,
                        wanted={pid: everything for pid in pids},
                        now=now,
                        index=index,
                    )
                )
            set_position(conn, MERGES_CURSOR, upto, now)
        self._announce(changed)
        return upto - after


class WindowCheckLoop(_SegmentsLoop):
    name = "segments.windows"
    interval_seconds = 15.0

    def run_once(self, now: datetime) -> int:
        with self.ctx.store.read() as conn:  # an idle pass takes no write lock
            if not membership.checks_due(conn, now=now):
                return 0
        with self.ctx.store.begin() as conn:
            repo.lock_memberships(conn)
            checked, changed = membership.run_due_checks(conn, now=now, limit=self.batch)
        self._announce(changed)
        return checked


def build_loops(ctx: Context) -> list[LoopService]:
    return [
        EventMembershipLoop(ctx),
        TraitMembershipLoop(ctx),
        MergeMembershipLoop(ctx),
        WindowCheckLoop(ctx),
    ]
