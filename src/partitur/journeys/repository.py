"""The SQL of the journeys domain: journeys and their versions, instances, transitions,
timers and enrolment records. Service, runner, feed and backfill call these; none of them
writes a statement of its own.

The runner's writes are bulk helpers (``storage.bulk``) over rows it collected during a
batch of steps: one statement per table per flush, not one per instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select

from partitur.journeys.contracts import InstanceInfo, TransitionInfo
from partitur.journeys.runtime import EnrolmentRecord
from partitur.journeys.tables import (
    journey_enrolments,
    journey_instances,
    journey_timers,
    journey_transitions,
    journey_versions,
    journeys,
)
from partitur.storage.bulk import bulk_insert, bulk_update_checked

#: ids per ``IN (...)`` list: well below SQLite's bound-parameter limit
CHUNK = 500


def instance_info(row: Any, key: str | None = None) -> InstanceInfo:
    return InstanceInfo(
        id=row.id,
        journey_id=row.journey_id,
        journey_key=key,
        version=row.version,
        profile_id=row.profile_id,
        status=row.status,
        entered_at=row.entered_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        current_node=row.current_node,
        converted_at=row.converted_at,
        revenue=row.revenue,
        split_variants=row.split_variants or None,
    )


def instances_of(
    conn: Connection,
    *,
    journey_id: str,
    key: str,
    status: str | None,
    limit: int,
    after: str | None,
) -> list[InstanceInfo]:
    query = select(journey_instances).where(journey_instances.c.journey_id == journey_id)
    if status:
        query = query.where(journey_instances.c.status == status)
    if after:
        query = query.where(journey_instances.c.id > after)
    rows = conn.execute(query.order_by(journey_instances.c.id).limit(limit))
    return [instance_info(r, key) for r in rows]


def latest_instances_of(
    conn: Connection, *, journey_id: str, key: str, limit: int
) -> list[InstanceInfo]:
    rows = conn.execute(
        select(journey_instances)
        .where(journey_instances.c.journey_id == journey_id)
        .order_by(journey_instances.c.entered_at.desc(), journey_instances.c.id.desc())
        .limit(limit)
    )
    return [instance_info(r, key) for r in rows]


def transitions_of(conn: Connection, instance_id: str) -> list[TransitionInfo]:
    return [
        TransitionInfo(node_id=t.node_id, from_node=t.from_node, at=t.at, reason=t.reason)
        for t in conn.execute(
            select(journey_transitions)
            .where(journey_transitions.c.instance_id == instance_id)
            .order_by(journey_transitions.c.id)
        )
    ]


def instances_of_profile(
    conn: Connection, *, workspace_id: str, profile_id: str
) -> list[InstanceInfo]:
    rows = conn.execute(
        select(journey_instances, journeys.c.key)
        .join(journeys, journeys.c.id == journey_instances.c.journey_id)
        .where(
            journey_instances.c.workspace_id == workspace_id,
            journey_instances.c.profile_id == profile_id,
        )
        .order_by(journey_instances.c.entered_at.desc(), journey_instances.c.id.desc())
    ).all()
    out = []
    for r in rows:
        info = instance_info(r, r.key)
        info.history = transitions_of(conn, r.id)
        out.append(info)
    return out


def node_tallies(
    conn: Connection, *, journey_id: str, version: int | None
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """(entries per node, active instances per current node, exited instances per the node
    they exited at)."""
    entered = select(journey_transitions.c.node_id, func.count()).where(
        journey_transitions.c.journey_id == journey_id, journey_transitions.c.node_id.is_not(None)
    )
    here = select(journey_instances.c.current_node, journey_instances.c.status, func.count()).where(
        journey_instances.c.journey_id == journey_id,
        journey_instances.c.status.in_(("active", "exited")),
    )
    if version is not None:
        entered = entered.where(journey_transitions.c.version == version)
        here = here.where(journey_instances.c.version == version)
    counts = {
        str(n): int(c)
        for n, c in conn.execute(entered.group_by(journey_transitions.c.node_id)).all()
    }
    active: dict[str, int] = {}
    exited: dict[str, int] = {}
    for node, status, count in conn.execute(
        here.group_by(journey_instances.c.current_node, journey_instances.c.status)
    ).all():
        if node is not None:
            (active if status == "active" else exited)[str(node)] = int(count)
    return counts, active, exited


def status_counts(conn: Connection, *, journey_id: str) -> dict[str, int]:
    rows = conn.execute(
        select(journey_instances.c.status, func.count())
        .where(journey_instances.c.journey_id == journey_id)
        .group_by(journey_instances.c.status)
    ).all()
    return {str(s): int(n) for s, n in rows}


# --- journeys and their versions --------------------------------------------------------------


def journey_row(conn: Connection, *, workspace_id: str, key: str) -> Any:
    """The journey's row (None: no such journey in the workspace)."""
    return conn.execute(
        select(journeys).where(journeys.c.workspace_id == workspace_id, journeys.c.key == key)
    ).first()


def journey_row_by_id(conn: Connection, *, workspace_id: str, journey_id: str) -> Any:
    """The journey's row by its id (None: no such journey in the workspace)."""
    return conn.execute(
        select(journeys).where(journeys.c.workspace_id == workspace_id, journeys.c.id == journey_id)
    ).first()


def journey_id_of(conn: Connection, *, workspace_id: str, key: str) -> str | None:
    return conn.execute(
        select(journeys.c.id).where(journeys.c.workspace_id == workspace_id, journeys.c.key == key)
    ).scalar()


def journey_rows(conn: Connection, *, workspace_id: str) -> list[Any]:
    """The workspace's journeys by key."""
    return list(
        conn.execute(
            select(journeys).where(journeys.c.workspace_id == workspace_id).order_by(journeys.c.key)
        )
    )


def insert_journey(
    conn: Connection,
    *,
    journey_id: str,
    workspace_id: str,
    key: str,
    name: str,
    draft: dict[str, Any],
    now: datetime,
) -> None:
    conn.execute(
        journeys.insert().values(
            id=journey_id,
            workspace_id=workspace_id,
            key=key,
            name=name,
            status="draft",
            draft=draft,
            test_mode=False,
            created_at=now,
            updated_at=now,
        )
    )


def update_draft(
    conn: Connection, *, journey_id: str, draft: dict[str, Any], name: str, now: datetime
) -> None:
    conn.execute(
        journeys.update()
        .where(journeys.c.id == journey_id)
        .values(draft=draft, name=name, updated_at=now)
    )


def version_definition(conn: Connection, *, journey_id: str, version: int) -> Any:
    """The document of a published version (None: no such version)."""
    return conn.execute(
        select(journey_versions.c.definition).where(
            journey_versions.c.journey_id == journey_id,
            journey_versions.c.version == version,
        )
    ).scalar()


def insert_version(
    conn: Connection,
    *,
    workspace_id: str,
    journey_id: str,
    version: int,
    definition: dict[str, Any],
    now: datetime,
) -> None:
    conn.execute(
        journey_versions.insert().values(
            workspace_id=workspace_id,
            journey_id=journey_id,
            version=version,
            definition=definition,
            published_at=now,
            winners={},
        )
    )


def mark_published(
    conn: Connection,
    *,
    journey_id: str,
    version: int,
    status: str,
    next_audience_at: datetime | None,
    now: datetime,
) -> None:
    conn.execute(
        journeys.update()
        .where(journeys.c.id == journey_id)
        .values(
            latest_version=version,
            status=status,
            updated_at=now,
            next_audience_at=next_audience_at,
        )
    )


def set_status(conn: Connection, *, journey_id: str, status: str, now: datetime) -> None:
    conn.execute(
        journeys.update().where(journeys.c.id == journey_id).values(status=status, updated_at=now)
    )


def set_test_mode(conn: Connection, *, journey_id: str, enabled: bool, now: datetime) -> None:
    conn.execute(
        journeys.update()
        .where(journeys.c.id == journey_id)
        .values(test_mode=enabled, updated_at=now)
    )


def mark_backfilled(
    conn: Connection,
    *,
    journey_id: str,
    since: datetime,
    events_through: int,
    changes_through: int,
) -> None:
    """Remember that history up to these positions was replayed into the journey."""
    conn.execute(
        journeys.update()
        .where(journeys.c.id == journey_id)
        .values(
            backfilled_since=since,
            replayed_events_through=events_through,
            replayed_changes_through=changes_through,
        )
    )


def published_version(conn: Connection, *, journey_id: str, version: int) -> Any:
    """A version's document and winners with its journey's key, status, test mode, first
    publication and backfill marks (raises if the version does not exist)."""
    first_published = (
        select(func.min(journey_versions.c.published_at))
        .where(journey_versions.c.journey_id == journey_id)
        .scalar_subquery()
    )
    return conn.execute(
        select(
            journey_versions.c.definition,
            journey_versions.c.winners,
            journeys.c.key,
            journeys.c.status,
            journeys.c.test_mode,
            first_published.label("live_since"),
            journeys.c.replayed_events_through,
            journeys.c.replayed_changes_through,
        )
        .join(journeys, journeys.c.id == journey_versions.c.journey_id)
        .where(
            journey_versions.c.journey_id == journey_id,
            journey_versions.c.version == version,
        )
    ).one()


def active_journey_versions(conn: Connection, *, workspace_id: str) -> list[Any]:
    """(id, latest_version) of the workspace's active, published journeys."""
    return list(
        conn.execute(
            select(journeys.c.id, journeys.c.latest_version).where(
                journeys.c.workspace_id == workspace_id,
                journeys.c.status == "active",
                journeys.c.latest_version.is_not(None),
            )
        ).all()
    )


def active_journey_by_key(conn: Connection, *, workspace_id: str, key: str) -> Any:
    """(id, latest_version) of the active journey ``key`` (None: none such)."""
    return conn.execute(
        select(journeys.c.id, journeys.c.latest_version).where(
            journeys.c.workspace_id == workspace_id,
            journeys.c.key == key,
            journeys.c.status == "active",
        )
    ).first()


def version_winners(
    conn: Connection, *, journey_id: str, version: int, workspace_id: str | None = None
) -> Any:
    """A version's definition and winners (None: no such version, or not in ``workspace_id``
    when it is given)."""
    query = select(journey_versions.c.definition, journey_versions.c.winners).where(
        journey_versions.c.journey_id == journey_id, journey_versions.c.version == version
    )
    if workspace_id is not None:
        query = query.join(journeys, journeys.c.id == journey_versions.c.journey_id).where(
            journeys.c.workspace_id == workspace_id
        )
    return conn.execute(query).first()


def active_latest_versions(conn: Connection, *, workspace_id: str) -> list[Any]:
    """Each active journey's id, key, status and latest version with its definition and
    winners."""
    return list(
        conn.execute(
            select(
                journeys.c.id,
                journeys.c.key,
                journeys.c.status,
                journeys.c.latest_version,
                journey_versions.c.definition,
                journey_versions.c.winners,
            )
            .join(
                journey_versions,
                (journey_versions.c.journey_id == journeys.c.id)
                & (journey_versions.c.version == journeys.c.latest_version),
            )
            .where(journeys.c.workspace_id == workspace_id, journeys.c.status == "active")
        ).all()
    )


def set_winners(
    conn: Connection, *, journey_id: str, version: int, winners: dict[str, str]
) -> None:
    conn.execute(
        journey_versions.update()
        .where(
            journey_versions.c.journey_id == journey_id,
            journey_versions.c.version == version,
        )
        .values(winners=winners)
    )


# --- instances --------------------------------------------------------------------------------


def instance_rows(conn: Connection, instance_ids: Sequence[str]) -> list[Any]:
    """Full instance rows by id (unknown ids are absent)."""
    ids = list(instance_ids)
    found: list[Any] = []
    for i in range(0, len(ids), CHUNK):
        found += conn.execute(
            select(journey_instances).where(journey_instances.c.id.in_(ids[i : i + CHUNK]))
        ).all()
    return found


def active_instance_rows(conn: Connection, profile_ids: Sequence[str]) -> list[Any]:
    """Full rows of the active instances of these profiles (any journey)."""
    ids = list(profile_ids)
    found: list[Any] = []
    for i in range(0, len(ids), CHUNK):
        found += conn.execute(
            select(journey_instances).where(
                journey_instances.c.profile_id.in_(ids[i : i + CHUNK]),
                journey_instances.c.status == "active",
            )
        ).all()
    return found


def has_instances(conn: Connection, *, journey_id: str) -> bool:
    return (
        conn.execute(
            select(journey_instances.c.id)
            .where(journey_instances.c.journey_id == journey_id)
            .limit(1)
        ).first()
        is not None
    )


def entries_since(conn: Connection, *, journey_id: str, since: datetime) -> int:
    """Instances of the journey entered after ``since`` (its entry throttle)."""
    return int(
        conn.execute(
            select(func.count()).where(
                journey_instances.c.journey_id == journey_id,
                journey_instances.c.entered_at > since,
            )
        ).scalar()
        or 0
    )


def insert_instances(conn: Connection, rows: list[dict[str, Any]]) -> None:
    bulk_insert(conn, journey_instances, rows)


def update_instances(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Write instances whose ``rev`` is still the one given (and bump it); returns how many
    were written (fewer than given: another writer got there first)."""
    return bulk_update_checked(conn, journey_instances, rows, key="id", check="rev", bump="rev")


def insert_transitions(conn: Connection, rows: list[dict[str, Any]]) -> None:
    bulk_insert(conn, journey_transitions, rows)


def exit_active_instances(
    conn: Connection, *, workspace_id: str, journey_id: str, reason: str, now: datetime
) -> None:
    """Exit every active instance of the journey in bulk (the same for all: no step per
    instance): a final transition each, no timers, no active enrolment."""
    active = conn.execute(
        select(
            journey_instances.c.id, journey_instances.c.version, journey_instances.c.current_node
        ).where(
            journey_instances.c.journey_id == journey_id, journey_instances.c.status == "active"
        )
    ).all()
    for i in range(0, len(active), 5000):
        chunk = active[i : i + 5000]
        ids = [r.id for r in chunk]
        bulk_insert(
            conn,
            journey_transitions,
            [
                {
                    "workspace_id": workspace_id,
                    "instance_id": r.id,
                    "journey_id": journey_id,
                    "version": r.version,
                    "node_id": None,
                    "from_node": r.current_node,
                    "at": now,
                    "reason": reason,
                }
                for r in chunk
            ],
        )
        conn.execute(
            journey_instances.update()
            .where(journey_instances.c.id.in_(ids))
            .values(
                status="exited",
                ended_at=now,
                end_reason=reason,
                rev=journey_instances.c.rev + 1,
            )
        )
        conn.execute(delete(journey_timers).where(journey_timers.c.instance_id.in_(ids)))
    conn.execute(
        journey_enrolments.update()
        .where(journey_enrolments.c.journey_id == journey_id)
        .values(active_instance_id=None)
    )


# --- timers -----------------------------------------------------------------------------------


def insert_timers(conn: Connection, rows: list[dict[str, Any]]) -> None:
    bulk_insert(conn, journey_timers, rows)


def next_timer_due(conn: Connection, *, workspace_id: str) -> datetime | None:
    """When the workspace's next timer of an active journey falls due (None: no timer).

    Walks the timers' due index in order, so it costs a lookup or two, not a scan."""
    return conn.execute(
        select(journey_timers.c.due_at)
        .join(journey_instances, journey_instances.c.id == journey_timers.c.instance_id)
        .join(journeys, journeys.c.id == journey_instances.c.journey_id)
        .where(journey_timers.c.workspace_id == workspace_id, journeys.c.status == "active")
        .order_by(journey_timers.c.due_at)
        .limit(1)
    ).scalar()


def due_timers(conn: Connection, *, workspace_id: str, now: datetime, limit: int) -> list[Any]:
    """Up to ``limit`` timers due by ``now`` of active journeys, oldest first."""
    return list(
        conn.execute(
            select(
                journey_timers.c.id,
                journey_timers.c.instance_id,
                journey_timers.c.node_id,
                journey_timers.c.token,
            )
            .join(journey_instances, journey_instances.c.id == journey_timers.c.instance_id)
            .join(journeys, journeys.c.id == journey_instances.c.journey_id)
            .where(
                journey_timers.c.workspace_id == workspace_id,
                journey_timers.c.due_at <= now,
                journeys.c.status == "active",
            )
            .order_by(journey_timers.c.due_at)
            .limit(limit)
        ).all()
    )


def timers_due_before(
    conn: Connection, *, journey_ids: Sequence[str], before: datetime
) -> list[Any]:
    """The journeys' timers due before ``before`` (any order)."""
    return list(
        conn.execute(
            select(
                journey_timers.c.id,
                journey_timers.c.instance_id,
                journey_timers.c.node_id,
                journey_timers.c.token,
                journey_timers.c.due_at,
            )
            .join(journey_instances, journey_instances.c.id == journey_timers.c.instance_id)
            .where(
                journey_instances.c.journey_id.in_(list(journey_ids)),
                journey_timers.c.due_at < before,
            )
        ).all()
    )


def delete_timers(conn: Connection, timer_ids: Sequence[int]) -> None:
    ids = list(timer_ids)
    for i in range(0, len(ids), CHUNK):
        conn.execute(delete(journey_timers).where(journey_timers.c.id.in_(ids[i : i + CHUNK])))


def delete_timers_of(conn: Connection, instance_ids: Sequence[str]) -> None:
    """Drop every timer of these instances."""
    ids = list(instance_ids)
    for i in range(0, len(ids), CHUNK):
        conn.execute(
            delete(journey_timers).where(journey_timers.c.instance_id.in_(ids[i : i + CHUNK]))
        )


# --- enrolment records ------------------------------------------------------------------------


def enrolment_records(
    conn: Connection, *, journey_id: str, profile_ids: Sequence[str]
) -> dict[str, EnrolmentRecord]:
    """The profiles' past entries into the journey (profiles never enrolled are absent)."""
    rows = conn.execute(
        select(
            journey_enrolments.c.profile_id,
            journey_enrolments.c.last_entered_at,
            journey_enrolments.c.active_instance_id,
        ).where(
            journey_enrolments.c.journey_id == journey_id,
            journey_enrolments.c.profile_id.in_(list(profile_ids)),
        )
    )
    return {
        r.profile_id: EnrolmentRecord(r.last_entered_at, r.active_instance_id is not None)
        for r in rows
    }


def enrolled_profiles(
    conn: Connection, *, journey_id: str, profile_ids: Sequence[str], active_only: bool = False
) -> set[str]:
    """Those of the profiles with an enrolment record in the journey (``active_only``: with an
    active instance there)."""
    ids = list(profile_ids)
    columns = [journey_enrolments.c.profile_id]
    if active_only:
        columns.append(journey_enrolments.c.active_instance_id)
    found: set[str] = set()
    for i in range(0, len(ids), CHUNK):
        rows = conn.execute(
            select(*columns).where(
                journey_enrolments.c.journey_id == journey_id,
                journey_enrolments.c.profile_id.in_(ids[i : i + CHUNK]),
            )
        )
        found |= {r.profile_id for r in rows if not active_only or r.active_instance_id}
    return found


def insert_enrolments(conn: Connection, rows: list[dict[str, Any]]) -> None:
    bulk_insert(conn, journey_enrolments, rows)


def add_entries(
    conn: Connection,
    *,
    journey_id: str,
    profile_id: str,
    entries: int,
    last_entered_at: datetime,
    active_instance_id: str | None,
) -> None:
    """Count ``entries`` more entries on an existing enrolment record."""
    conn.execute(
        journey_enrolments.update()
        .where(
            journey_enrolments.c.journey_id == journey_id,
            journey_enrolments.c.profile_id == profile_id,
        )
        .values(
            entries=journey_enrolments.c.entries + entries,
            last_entered_at=last_entered_at,
            active_instance_id=active_instance_id,
        )
    )


def clear_active_instances(conn: Connection, ended: Sequence[tuple[str, str, str]]) -> None:
    """(journey, profile, instance) whose instance ended: the enrolment no longer has an
    active one (unless a newer instance took its place)."""
    if not ended:
        return
    # by primary key, one statement for the batch
    conn.execute(
        journey_enrolments.update()
        .where(
            journey_enrolments.c.journey_id == bindparam("j"),
            journey_enrolments.c.profile_id == bindparam("p"),
            journey_enrolments.c.active_instance_id == bindparam("i"),
        )
        .values(active_instance_id=None),
        [{"j": j, "p": p, "i": i} for j, p, i in ended],
    )
