"""Queries on the segments tables (no business logic; service.py decides)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping, select

from partitur.events.tables import events
from partitur.profiles.tables import profiles
from partitur.segments.contracts import Member, MembershipChange
from partitur.segments.tables import (
    segment_checks,
    segment_membership_changes,
    segment_memberships,
    segment_versions,
    segments,
)

#: PostgreSQL advisory lock id that serialises membership writers (SQLite's BEGIN IMMEDIATE
#: already does).
_MEMBERSHIP_LOCK = 4_000_400


def lock_memberships(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MEMBERSHIP_LOCK})


# --- definitions ----------------------------------------------------------------------------


def segment_row(conn: Connection, workspace_id: str, key: str) -> RowMapping | None:
    return (
        conn.execute(
            select(segments).where(segments.c.workspace_id == workspace_id, segments.c.key == key)
        )
        .mappings()
        .first()
    )


def segment_rows(conn: Connection, workspace_id: str) -> list[RowMapping]:
    return list(
        conn.execute(
            select(segments).where(segments.c.workspace_id == workspace_id).order_by(segments.c.key)
        ).mappings()
    )


def insert_segment(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(segments.insert().values(**values))


def update_segment(conn: Connection, workspace_id: str, key: str, values: dict[str, Any]) -> None:
    conn.execute(
        segments.update()
        .where(segments.c.workspace_id == workspace_id, segments.c.key == key)
        .values(**values)
    )


def delete_segment(conn: Connection, workspace_id: str, key: str) -> None:
    for table in (segment_memberships, segment_checks):
        conn.execute(
            table.delete().where(table.c.workspace_id == workspace_id, table.c.segment_key == key)
        )
    conn.execute(
        segments.delete().where(segments.c.workspace_id == workspace_id, segments.c.key == key)
    )


def last_version(conn: Connection, workspace_id: str, key: str) -> int:
    value = conn.execute(
        select(sa.func.max(segment_versions.c.version)).where(
            segment_versions.c.workspace_id == workspace_id, segment_versions.c.key == key
        )
    ).scalar()
    return int(value or 0)


def insert_version(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(segment_versions.insert().values(**values))


# --- memberships ------------------------------------------------------------------------------


def memberships_of(
    conn: Connection, workspace_id: str, profile_ids: Iterable[str]
) -> dict[str, frozenset[str]]:
    ids = list(profile_ids)
    found: dict[str, set[str]] = defaultdict(set)
    for start in range(0, len(ids), 500):
        # by profile id only, so that SQLite uses the profile index rather than scanning the
        # workspace's part of the primary key
        m = segment_memberships
        rows = conn.execute(
            select(m.c.profile_id, m.c.segment_key, m.c.workspace_id).where(
                m.c.profile_id.in_(ids[start : start + 500])
            )
        )
        for pid, key, ws in rows:
            if ws == workspace_id:
                found[pid].add(key)
    return {pid: frozenset(keys) for pid, keys in found.items()}


def apply_changes(
    conn: Connection, workspace_id: str, changes: list[tuple[str, str, str]], now: datetime
) -> None:
    """Write ``(segment_key, profile_id, 'entered'|'exited')`` in order: feed rows + memberships."""
    if not changes:
        return
    conn.execute(
        segment_membership_changes.insert(),
        [
            {
                "workspace_id": workspace_id,
                "segment_key": key,
                "profile_id": pid,
                "change": change,
                "at": now,
            }
            for key, pid, change in changes
        ],
    )
    entered = [(k, p) for k, p, c in changes if c == "entered"]
    exited = [(k, p) for k, p, c in changes if c == "exited"]
    if exited:
        conn.execute(
            segment_memberships.delete().where(
                segment_memberships.c.workspace_id == sa.bindparam("ws"),
                segment_memberships.c.segment_key == sa.bindparam("key"),
                segment_memberships.c.profile_id == sa.bindparam("pid"),
            ),
            [{"ws": workspace_id, "key": k, "pid": p} for k, p in exited],
        )
    if entered:
        conn.execute(
            segment_memberships.insert(),
            [
                {"workspace_id": workspace_id, "segment_key": k, "profile_id": p, "entered_at": now}
                for k, p in entered
            ],
        )


def replace_checks(
    conn: Connection, workspace_id: str, checks: dict[tuple[str, str], datetime | None]
) -> None:
    """Set (or clear, for None) the window check of each ``(segment_key, profile_id)``."""
    if not checks:
        return
    by_key: dict[str, list[str]] = defaultdict(list)
    for key, pid in checks:
        by_key[key].append(pid)
    for key, pids in by_key.items():
        for start in range(0, len(pids), 500):
            conn.execute(
                segment_checks.delete().where(
                    segment_checks.c.workspace_id == workspace_id,
                    segment_checks.c.segment_key == key,
                    segment_checks.c.profile_id.in_(pids[start : start + 500]),
                )
            )
    due = [
        {"workspace_id": workspace_id, "segment_key": k, "profile_id": p, "due_at": at}
        for (k, p), at in checks.items()
        if at is not None
    ]
    if due:
        conn.execute(segment_checks.insert(), due)


def clear_checks(conn: Connection, workspace_id: str, key: str) -> None:
    conn.execute(
        segment_checks.delete().where(
            segment_checks.c.workspace_id == workspace_id, segment_checks.c.segment_key == key
        )
    )


def insert_checks(conn: Connection, workspace_id: str, key: str, due: dict[str, datetime]) -> None:
    rows = [
        {"workspace_id": workspace_id, "segment_key": key, "profile_id": pid, "due_at": at}
        for pid, at in due.items()
    ]
    for start in range(0, len(rows), 10_000):
        conn.execute(segment_checks.insert(), rows[start : start + 10_000])


def due_checks(conn: Connection, now: datetime, limit: int) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        select(
            segment_checks.c.workspace_id, segment_checks.c.segment_key, segment_checks.c.profile_id
        )
        .where(segment_checks.c.due_at <= now)
        .order_by(segment_checks.c.due_at)
        .limit(limit)
    )
    return [(ws, key, pid) for ws, key, pid in rows]


def delete_check(conn: Connection, workspace_id: str, key: str, profile_id: str) -> None:
    conn.execute(
        segment_checks.delete().where(
            segment_checks.c.workspace_id == workspace_id,
            segment_checks.c.segment_key == key,
            segment_checks.c.profile_id == profile_id,
        )
    )


# --- set-based build --------------------------------------------------------------------------


def _live_profile(workspace_id: str, condition: sa.ColumnElement[bool]) -> list[Any]:
    return [profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None), condition]


def build_membership(
    conn: Connection, workspace_id: str, key: str, condition: sa.ColumnElement[bool], now: datetime
) -> tuple[int, int]:
    """Make the members of ``key`` exactly the live profiles satisfying ``condition`` (a compiled
    rule over ``profiles``), recording each entry and exit. Returns (entered, exited)."""
    m = segment_memberships
    changes = segment_membership_changes
    start = conn.execute(select(sa.func.coalesce(sa.func.max(changes.c.seq), 0))).scalar() or 0
    still = sa.exists(
        select(sa.literal(1))
        .select_from(profiles)
        .where(profiles.c.id == m.c.profile_id, *_live_profile(workspace_id, condition))
    )
    member_filter = [m.c.workspace_id == workspace_id, m.c.segment_key == key, sa.not_(still)]
    conn.execute(
        changes.insert().from_select(
            ["workspace_id", "segment_key", "profile_id", "change", "at"],
            select(
                sa.literal(workspace_id),
                sa.literal(key),
                m.c.profile_id,
                sa.literal("exited"),
                sa.literal(now, type_=changes.c.at.type),
            )
            .where(*member_filter)
            .order_by(m.c.profile_id),
        )
    )
    exited = conn.execute(m.delete().where(*member_filter)).rowcount
    is_member = sa.exists(
        select(sa.literal(1)).where(
            m.c.workspace_id == workspace_id,
            m.c.segment_key == key,
            m.c.profile_id == profiles.c.id,
        )
    )
    entered = conn.execute(
        changes.insert().from_select(
            ["workspace_id", "segment_key", "profile_id", "change", "at"],
            select(
                sa.literal(workspace_id),
                sa.literal(key),
                profiles.c.id,
                sa.literal("entered"),
                sa.literal(now, type_=changes.c.at.type),
            )
            .where(*_live_profile(workspace_id, condition), sa.not_(is_member))
            .order_by(profiles.c.id),
        )
    ).rowcount
    conn.execute(
        m.insert().from_select(
            ["workspace_id", "segment_key", "profile_id", "entered_at"],
            select(
                changes.c.workspace_id, changes.c.segment_key, changes.c.profile_id, changes.c.at
            )
            .where(
                changes.c.seq > start,
                changes.c.workspace_id == workspace_id,
                changes.c.segment_key == key,
                changes.c.change == "entered",
            )
            .order_by(changes.c.seq),
        )
    )
    return int(entered), int(exited)


def window_edges(
    conn: Connection,
    workspace_id: str,
    name: str,
    filters: list[sa.ColumnElement[bool]],
    since: datetime | None,
    now: datetime,
    profile_ids: list[str] | None = None,
) -> Iterator[tuple[str, datetime | None, datetime | None]]:
    """Per profile (all of the workspace, or those in ``profile_ids``): the oldest matching
    event in ``[since, now]`` and the first after ``now``."""
    window = [events.c.timestamp >= since] if since is not None else [events.c.timestamp > now]
    ts = events.c.timestamp
    query = select(
        events.c.profile_id,
        sa.func.min(sa.case((ts <= now, ts), else_=None)).label("oldest"),
        sa.func.min(sa.case((ts > now, ts), else_=None)).label("future"),
    ).group_by(events.c.profile_id)
    common = [events.c.event == name, *window, *filters]
    if profile_ids is None:
        chunks: list[list[Any]] = [
            [events.c.workspace_id == workspace_id, events.c.profile_id.is_not(None)]
        ]
    else:
        # by profile id (the profile index); the ids are of this workspace already
        chunks = [
            [events.c.profile_id.in_(profile_ids[i : i + 500])]
            for i in range(0, len(profile_ids), 500)
        ]
    for scope in chunks:
        for pid, oldest, future in conn.execute(query.where(*scope, *common)):
            yield pid, _as_utc(oldest), _as_utc(future)


def _as_utc(value: Any) -> datetime | None:
    """MIN() keeps the column type on most drivers; make sure of an aware UTC datetime."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def matching_among(
    conn: Connection,
    workspace_id: str,
    profile_ids: list[str],
    condition: sa.ColumnElement[bool],
) -> set[str]:
    """Which of ``profile_ids`` are live profiles of the workspace satisfying ``condition``."""
    found: set[str] = set()
    for start in range(0, len(profile_ids), 500):
        rows = conn.execute(
            select(profiles.c.id).where(
                profiles.c.id.in_(profile_ids[start : start + 500]),
                # wrapped so that SQLite looks profiles up by id, not by the workspace index
                sa.func.coalesce(profiles.c.workspace_id, "") == workspace_id,
                profiles.c.merged_into.is_(None),
                condition,
            )
        )
        found.update(rows.scalars())
    return found


def live_profile_ids(
    conn: Connection, workspace_id: str, after: str | None, limit: int
) -> list[str]:
    query = select(profiles.c.id).where(
        profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None)
    )
    if after is not None:
        query = query.where(profiles.c.id > after)
    return list(conn.execute(query.order_by(profiles.c.id).limit(limit)).scalars())


def count_matching(
    conn: Connection, workspace_id: str, condition: sa.ColumnElement[bool], sample: int
) -> tuple[int, list[str]]:
    where = _live_profile(workspace_id, condition)
    size = conn.execute(select(sa.func.count()).select_from(profiles).where(*where)).scalar()
    ids = conn.execute(
        select(profiles.c.id).where(*where).order_by(profiles.c.id).limit(sample)
    ).scalars()
    return int(size or 0), list(ids)


def matching_ids(
    conn: Connection, workspace_id: str, condition: sa.ColumnElement[bool]
) -> list[str]:
    where = _live_profile(workspace_id, condition)
    return list(conn.execute(select(profiles.c.id).where(*where).order_by(profiles.c.id)).scalars())


# --- reading memberships ---------------------------------------------------------------------


def last_change_seq(conn: Connection, workspace_id: str) -> int:
    c = segment_membership_changes
    last = conn.execute(
        select(sa.func.max(c.c.seq)).where(c.c.workspace_id == workspace_id)
    ).scalar()
    return int(last or 0)


def changes_since(
    conn: Connection, workspace_id: str, after: int, limit: int
) -> list[MembershipChange]:
    c = segment_membership_changes
    rows = conn.execute(
        select(c.c.seq, c.c.segment_key, c.c.profile_id, c.c.change, c.c.at)
        .where(c.c.workspace_id == workspace_id, c.c.seq > after)
        .order_by(c.c.seq)
        .limit(limit)
    ).mappings()
    return [MembershipChange.model_validate(dict(r)) for r in rows]


def size(conn: Connection, workspace_id: str, key: str) -> int:
    m = segment_memberships
    value = conn.execute(
        select(sa.func.count())
        .select_from(m)
        .where(m.c.workspace_id == workspace_id, m.c.segment_key == key)
    ).scalar()
    return int(value or 0)


def members_page(
    conn: Connection, workspace_id: str, key: str, after: str | None, limit: int
) -> list[Member]:
    m = segment_memberships
    query = select(m.c.profile_id, m.c.entered_at).where(
        m.c.workspace_id == workspace_id, m.c.segment_key == key
    )
    if after is not None:
        query = query.where(m.c.profile_id > after)
    rows = conn.execute(query.order_by(m.c.profile_id).limit(limit)).mappings()
    return [Member.model_validate(dict(r)) for r in rows]


def member_ids(
    conn: Connection, workspace_id: str, key: str, after: str | None, limit: int
) -> list[str]:
    m = segment_memberships
    query = select(m.c.profile_id).where(m.c.workspace_id == workspace_id, m.c.segment_key == key)
    if after is not None:
        query = query.where(m.c.profile_id > after)
    return list(conn.execute(query.order_by(m.c.profile_id).limit(limit)).scalars())
