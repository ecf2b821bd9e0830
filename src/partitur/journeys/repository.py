"""Read queries of the journeys domain (instances, transitions, counts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from partitur.journeys.contracts import InstanceInfo, TransitionInfo
from partitur.journeys.tables import (
    journey_instances,
    journey_timers,
    journey_transitions,
    journeys,
)


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
) -> tuple[dict[str, int], dict[str, int]]:
    """(entries per node, active instances per current node)."""
    entered = select(journey_transitions.c.node_id, func.count()).where(
        journey_transitions.c.journey_id == journey_id, journey_transitions.c.node_id.is_not(None)
    )
    here = select(journey_instances.c.current_node, func.count()).where(
        journey_instances.c.journey_id == journey_id, journey_instances.c.status == "active"
    )
    if version is not None:
        entered = entered.where(journey_transitions.c.version == version)
        here = here.where(journey_instances.c.version == version)
    counts = {
        str(n): int(c)
        for n, c in conn.execute(entered.group_by(journey_transitions.c.node_id)).all()
    }
    active = {
        str(n): int(c)
        for n, c in conn.execute(here.group_by(journey_instances.c.current_node)).all()
    }
    return counts, active


def status_counts(conn: Connection, *, journey_id: str) -> dict[str, int]:
    rows = conn.execute(
        select(journey_instances.c.status, func.count())
        .where(journey_instances.c.journey_id == journey_id)
        .group_by(journey_instances.c.status)
    ).all()
    return {str(s): int(n) for s, n in rows}


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
