"""The writer of a resolution pass: writes what the planner decided (``identity.planner``).

A ``PassWriter`` owns the pass's connection from the moment it opens until every write has
run. On SQLite its statements run in order on a thread of their own (``storage.background``):
SQLite runs a statement without the GIL, so a long ``UPDATE`` there and the planning of the
next stage here use both cores. The rows of each write are built on the caller's thread
(formatting JSON and times is Python work, which the writer's statements need not wait
behind) from the engine's name alone, never through the connection the writer thread owns.

The order of the writes is the resolver's (see ``write_identities``, ``write_traits``,
``write_profiles``), each chosen so that the writer starts early and the tables' indexes are
appended to rather than spread over.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from operator import attrgetter, itemgetter

from sqlalchemy import Connection

from partitur.events import resolution as event_log
from partitur.identity import repository as repo
from partitur.identity.extract import Identifier
from partitur.identity.planner import IdentityPlan, ProfilePlan, TraitPlan
from partitur.profiles import service as profiles
from partitur.storage.audit import AuditRecord, write_audits
from partitur.storage.background import Writes, background_writes

#: who the audit log names for a merge made by identity resolution
ACTOR = "system:identity"


class PassWriter:
    """Writes one workspace's share of a pass, stage by stage; see ``pass_writer``."""

    def __init__(self, conn: Connection, writes: Writes, *, workspace_id: str, now: datetime):
        self._conn = conn
        self._writes = writes
        self.dialect = conn.dialect.name
        self.workspace_id = workspace_id
        self.now = now

    def write_identities(self, plan: IdentityPlan, units: Sequence[event_log.ResolveUnit]) -> None:
        """The events' profiles (``units``: the pass's, parallel to ``plan.unit_profiles``)
        and the graph: known identities marked seen, new ones added, merged profiles' events
        and identities moved to their survivors."""
        conn, submit, now = self._conn, self._writes.submit, self.now
        if plan.touch_known:
            # before the new identities go in: only the known ones need touching
            submit(repo.touch_identities, conn, workspace_id=self.workspace_id, now=now)
        # the writer's first long statement; the new identities are sorted meanwhile
        submit(event_log.assign_units, conn, list(zip(units, plan.unit_profiles, strict=True)))
        rows = _in_key_order(plan.new_identities)
        submit(repo.insert_identities, conn, workspace_id=self.workspace_id, rows=rows, now=now)
        if plan.moves:
            submit(repo.repoint_identities, conn, plan.moves)
            submit(event_log.repoint_profiles, conn, plan.moves)

    def write_traits(self, plan: TraitPlan) -> None:
        """The trait history, in index order: each profile's changes of a trait still oldest
        first (a stable sort). Written while the activity is folded; a merged profile's older
        history moves to its survivor later (``write_profiles``), which leaves these rows of
        survivors alone."""
        history = sorted(plan.history, key=attrgetter("profile_id", "trait"))
        rows = profiles.history_rows(history, dialect=self.dialect)
        self._writes.submit(profiles.insert_history, self._conn, rows)

    def write_profiles(self, plan: ProfilePlan, identities: IdentityPlan) -> None:
        """New and changed profiles, merged ones marked, the activity of the others, and the
        merges' records and audit entries."""
        conn, submit, now = self._conn, self._writes.submit, self.now
        rows = profiles.profile_rows(
            new=plan.new, changed=plan.changed, now=now, dialect=self.dialect
        )
        submit(profiles.write_profile_rows, conn, rows, now=now, merged=identities.moves)
        submit(profiles.apply_activity, conn, plan.activity, now=now)
        if identities.merges:
            submit(
                repo.record_merges,
                conn,
                workspace_id=self.workspace_id,
                merges=identities.merges,
                now=now,
            )
            records = [
                AuditRecord(
                    workspace_id=self.workspace_id,
                    at=now,
                    actor=ACTOR,
                    action="profile.merge",
                    subject_type="profile",
                    subject_id=m.survivor_id,
                    details={"merged_id": m.merged_id, "event_seq": m.event_seq, **m.reason},
                )
                for m in identities.merges
            ]
            submit(write_audits, conn, records)


@contextlib.contextmanager
def pass_writer(conn: Connection, *, workspace_id: str, now: datetime) -> Iterator[PassWriter]:
    """A writer for one workspace's share of a pass. The caller hands ``conn`` over: inside
    the block it must not use it. The block ends when every write has run; if one fails, the
    rest are skipped and the block raises its error (the transaction rolls back whole)."""
    with background_writes(conn) as writes:
        yield PassWriter(conn, writes, workspace_id=workspace_id, now=now)


def _in_key_order(identities: dict[Identifier, str]) -> list[tuple[str, str, str]]:
    """(kind, value, profile_id) rows sorted as the graph's primary key: appended to it, not
    spread over it. By kind, then each kind's values (a third of the time of sorting the
    tuples)."""
    by_kind: defaultdict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for (kind, value), profile_id in identities.items():
        by_kind[kind].append((kind, value, profile_id))
    ordered: list[tuple[str, str, str]] = []
    for kind in sorted(by_kind):
        group = by_kind[kind]
        group.sort(key=itemgetter(1))
        ordered += group
    return ordered
