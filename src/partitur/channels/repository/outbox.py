"""SQL of the outbox: messages put in, claimed, finished, withdrawn and listed; what the
dispatcher's decisions read of past sends; the shared circuit-breaker and rate-limit state; the
in-app inbox items and agent tasks the built-in plugins deliver."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from partitur.channels.tables import agent_tasks, endpoint_states, inbox_items, messages

log = logging.getLogger(__name__)

DUE = ("queued", "deferred")
SENT = ("sent", "delivered")


def message_row(conn: Connection, message_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(messages).where(messages.c.id == message_id)).mappings().first()
    return dict(row) if row else None


#: rows per multi-row insert / keys per lookup (SQLite allows 32,766 bound parameters)
CHUNK = 500


def insert_messages(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows (all of the same shape) unless their idempotency key exists
    (``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING``, race-safe); returns how many were
    inserted (a count below ``len(rows)`` may also mean the driver could not tell).

    SQLite: one multi-row statement per 500 rows, handed to the driver with the values
    converted by the columns' own bind processors (Core's per-row compilation of a multi-row
    VALUES costs far more than the insert). PostgreSQL: one Core executemany, which SQLAlchemy
    sends as multi-row VALUES batches."""
    if not rows:
        return 0
    if conn.dialect.name == "sqlite":
        return _insert_messages_sqlite(conn, rows)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(messages).on_conflict_do_nothing(index_elements=["idempotency_key"])
        return int(conn.execute(stmt, rows).rowcount)
    return sum(  # pragma: no cover - partitur runs on SQLite and PostgreSQL
        insert_ignoring_duplicates(conn, messages, r) for r in rows
    )


def _insert_messages_sqlite(conn: Connection, rows: list[dict[str, Any]]) -> int:
    columns = list(rows[0])
    dialect = conn.dialect
    processors = [messages.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    one = f"({', '.join('?' for _ in columns)})"
    inserted = 0
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        params: list[Any] = []
        for row in chunk:
            for column, process in zip(columns, processors, strict=True):
                value = row[column]
                params.append(process(value) if process is not None else value)
        sql = (
            f"INSERT INTO {messages.name} ({', '.join(columns)}) "
            f"VALUES {', '.join(one for _ in chunk)} ON CONFLICT (idempotency_key) DO NOTHING"
        )
        inserted += int(conn.exec_driver_sql(sql, tuple(params)).rowcount)
    return inserted


def messages_by_keys(conn: Connection, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``idempotency_key -> (message id, status)`` of the stored messages with these keys."""
    found: dict[str, tuple[str, str]] = {}
    for i in range(0, len(keys), CHUNK):
        rows = conn.execute(
            select(messages.c.idempotency_key, messages.c.id, messages.c.status).where(
                messages.c.idempotency_key.in_(keys[i : i + CHUNK])
            )
        )
        found.update({key: (mid, status) for key, mid, status in rows})
    return found


def list_messages(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str | None,
    status: str | None,
    journey_id: str | None,
    before_id: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """A workspace's messages, newest first, optionally of one profile, status or journey and
    older than ``before_id`` (the page cursor)."""
    query = select(messages).where(messages.c.workspace_id == workspace_id)
    if profile_id:
        query = query.where(messages.c.profile_id == profile_id)
    if status:
        query = query.where(messages.c.status == status)
    if journey_id:
        query = query.where(messages.c.journey_id == journey_id)
    if before_id:
        query = query.where(messages.c.id < before_id)
    rows = conn.execute(query.order_by(messages.c.id.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]


def outcomes_by_node(
    conn: Connection, *, workspace_id: str, journey_id: str, version: int | None
) -> list[tuple[str, str, bool, bool, int]]:
    """(node id, status, has been sent, has been delivered, messages) of a journey's messages
    (of one version when given), one row per combination."""
    query = select(
        messages.c.node_id,
        messages.c.status,
        messages.c.sent_at.is_not(None),
        messages.c.delivered_at.is_not(None),
        func.count(),
    ).where(
        messages.c.workspace_id == workspace_id,
        messages.c.journey_id == journey_id,
        messages.c.node_id.is_not(None),
    )
    if version is not None:
        query = query.where(messages.c.journey_version == version)
    rows = conn.execute(query.group_by(*query.selected_columns[:4])).all()
    return [
        (str(n), str(s), bool(sent), bool(delivered), int(c)) for n, s, sent, delivered, c in rows
    ]


def withdraw_queued(
    conn: Connection,
    *,
    workspace_id: str,
    journey_ids: list[str],
    created_before: datetime,
    reason: str,
    now: datetime,
) -> int:
    """Mark these journeys' waiting sends made before ``created_before`` suppressed."""
    result = conn.execute(
        update(messages)
        .where(
            messages.c.workspace_id == workspace_id,
            messages.c.journey_id.in_(journey_ids),
            messages.c.status.in_(DUE),
            messages.c.created_at < created_before,
        )
        .values(status="suppressed", error=reason, next_attempt_at=None, updated_at=now)
    )
    return int(result.rowcount or 0)


def update_message(conn: Connection, *, message_id: str, values: dict[str, Any]) -> None:
    """Write columns of one message (tracking and bounces; the dispatcher uses ``finish_many``)."""
    conn.execute(update(messages).where(messages.c.id == message_id).values(**values))


def profiles_messaged_at(
    conn: Connection, *, workspace_id: str, channel: str, recipient: str
) -> set[str]:
    """The profiles sent a message on ``channel`` to ``recipient`` (an address or number)."""
    rows = conn.execute(
        select(messages.c.profile_id).where(
            messages.c.workspace_id == workspace_id,
            messages.c.channel == channel,
            messages.c.recipient == recipient,
        )
    )
    return set(rows.scalars())


def claim_due(
    conn: Connection, *, now: datetime, limit: int, claim_id: str, until: datetime
) -> list[dict[str, Any]]:
    """Claim up to ``limit`` due rows in ONE statement (``UPDATE ... WHERE id IN (due ids)
    RETURNING``); returns the claimed rows in sending order (priority, then age).

    On PostgreSQL the due ids are picked ``FOR UPDATE SKIP LOCKED``, so concurrent dispatchers
    claim disjoint batches; on SQLite the write lock serialises them.
    """
    due = (
        select(messages.c.id)
        .where(
            messages.c.status.in_(DUE),
            or_(messages.c.next_attempt_at.is_(None), messages.c.next_attempt_at <= now),
        )
        .order_by(messages.c.priority.desc(), messages.c.created_at, messages.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    stmt = (
        update(messages)
        .where(messages.c.id.in_(due.scalar_subquery()), messages.c.status.in_(DUE))
        .values(
            status="sending",
            claim=claim_id,
            locked_until=until,
            attempts=messages.c.attempts + 1,
            updated_at=now,
        )
        .returning(*messages.c)
    )
    result = conn.execute(stmt)
    names = list(result.keys())  # once: a mapping per row would rebuild its key view each time
    rows = [dict(zip(names, r, strict=True)) for r in result.all()]
    rows.sort(key=lambda r: (-r["priority"], r["created_at"], r["id"]))
    return rows


def held(conn: Connection, *, ids: Sequence[str], claim_id: str) -> set[str]:
    """Which of these rows this claim still holds (its lease was not taken over)."""
    if not ids:
        return set()
    rows = conn.execute(
        select(messages.c.id).where(messages.c.id.in_(list(ids)), messages.c.claim == claim_id)
    )
    return set(rows.scalars())


def earliest_due(conn: Connection, *, now: datetime) -> datetime | None:
    """When the outbox's next message falls due: ``now`` if one is due already, else the
    earliest retry or deferral, None when nothing waits. A few lookups in the due index (the
    dispatcher's idle pass reads this instead of claiming)."""
    earliest: datetime | None = None
    for status in DUE:
        waiting = messages.c.status == status
        if conn.execute(
            select(messages.c.id).where(waiting, messages.c.next_attempt_at.is_(None)).limit(1)
        ).first():
            return now
        first = conn.execute(select(func.min(messages.c.next_attempt_at)).where(waiting)).scalar()
        if first is not None and (earliest is None or first < earliest):
            earliest = first
    if earliest is not None and earliest <= now:
        return now
    return earliest


def has_stale_sending(conn: Connection, *, now: datetime) -> bool:
    """Whether a message's sender died mid-send (its lease ran out); a read for idle passes."""
    return (
        conn.execute(
            select(messages.c.id)
            .where(messages.c.status == "sending", messages.c.locked_until < now)
            .limit(1)
        ).first()
        is not None
    )


def stale_sending(conn: Connection, *, now: datetime, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(messages)
        .where(messages.c.status == "sending", messages.c.locked_until < now)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def finish_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write many outcomes set-based; each dict holds ``_id`` and ``_claim`` plus the columns to
    write (only rows their claim still holds are written).

    Rows are grouped by their columns; what a group's rows have in common (status, times, ...)
    is written with one ``UPDATE ... WHERE id IN (...)``, only what differs per row (recipient,
    provider message id) with one executemany of plain values.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["_claim"], *sorted(k for k in row if k[0] != "_")), []).append(row)
    written = 0
    for (claim_id, *columns), group in groups.items():
        first = group[0]
        same = [c for c in columns if all(r[c] == first[c] for r in group)]
        varying = [c for c in columns if c not in same]
        if len(group) == 1 or not same:
            same, varying = [], columns
        if varying:  # first, while the rows still carry the claim that guards both writes
            done = conn.execute(
                update(messages)
                .where(messages.c.id == bindparam("_id"))
                .where(messages.c.claim == bindparam("_claim"))
                .values({c: bindparam(c) for c in varying}),
                [{"_id": r["_id"], "_claim": claim_id} | {c: r[c] for c in varying} for r in group],
            ).rowcount
            if not same:
                written += done
        ids = [r["_id"] for r in group]
        for start in range(0, len(ids) if same else 0, 1000):
            written += conn.execute(
                update(messages)
                .where(messages.c.id.in_(ids[start : start + 1000]))
                .where(messages.c.claim == claim_id)
                .values({c: first[c] for c in same})
            ).rowcount
    if written != len(rows):
        log.warning("outcomes of %d messages found their claim lost", len(rows) - written)


def recent_sends(
    conn: Connection, *, profile_ids: Iterable[str], since: datetime
) -> dict[str, list[tuple[str, datetime]]]:
    """Marketing messages sent to these profiles since ``since``: ``(channel, sent_at)``."""
    found: dict[str, list[tuple[str, datetime]]] = {}
    rows = conn.execute(
        select(messages.c.profile_id, messages.c.channel, messages.c.sent_at).where(
            messages.c.profile_id.in_(list(profile_ids)),
            messages.c.sent_at >= since,
            messages.c.category == "marketing",
            messages.c.status.in_((*SENT, "bounced")),
        )
    )
    for pid, channel, at in rows:
        found.setdefault(pid, []).append((channel, at))
    return found


def engagement_times(
    conn: Connection, *, profile_ids: Iterable[str], limit: int = 200
) -> dict[str, list[datetime]]:
    found: dict[str, list[datetime]] = {}
    rows = conn.execute(
        select(messages.c.profile_id, messages.c.opened_at, messages.c.clicked_at)
        .where(
            messages.c.profile_id.in_(list(profile_ids)),
            or_(messages.c.opened_at.is_not(None), messages.c.clicked_at.is_not(None)),
        )
        .order_by(messages.c.created_at.desc())
        .limit(limit)
    )
    for pid, opened, clicked in rows:
        at = opened or clicked
        if at is not None:
            found.setdefault(pid, []).append(at)
    return found


def lock_endpoint_states(
    conn: Connection, *, keys: Iterable[str], now: datetime
) -> dict[str, dict[str, Any]]:
    """The shared circuit-breaker / rate-limit rows of these keys, created when missing and
    held until the transaction ends (``FOR UPDATE`` in key order on PostgreSQL; SQLite's
    write transaction holds them anyway), so concurrent dispatchers read-modify-write them
    one after the other."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    have = set(
        conn.execute(
            select(endpoint_states.c.key).where(endpoint_states.c.key.in_(wanted))
        ).scalars()
    )
    for key in wanted:
        if key not in have:
            insert_ignoring_duplicates(
                conn, endpoint_states, {"key": key, "failures": 0, "updated_at": now}
            )
    query = (
        select(endpoint_states)
        .where(endpoint_states.c.key.in_(wanted))
        .order_by(endpoint_states.c.key)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {r["key"]: dict(r) for r in conn.execute(query).mappings()}


def save_endpoint_states(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write back locked state rows (``key`` plus the columns to set, the same for all)."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != "key"]
    stmt = (
        update(endpoint_states)
        .where(endpoint_states.c.key == bindparam("_key"))
        .values({c: bindparam(c) for c in columns})
    )
    conn.execute(stmt, [{"_key": r["key"], **{c: r[c] for c in columns}} for r in rows])


def add_inbox_item(
    conn: Connection,
    *,
    item_id: str,
    workspace_id: str,
    profile_id: str,
    message_id: str,
    title: str | None,
    body: str,
    data: dict[str, Any],
    now: datetime,
) -> str:
    """Insert the inbox item of a message once (a retry finds the existing one)."""
    existing = conn.execute(
        select(inbox_items.c.id).where(inbox_items.c.message_id == message_id)
    ).scalar()
    if existing:
        return str(existing)
    conn.execute(
        inbox_items.insert().values(
            id=item_id,
            workspace_id=workspace_id,
            profile_id=profile_id,
            message_id=message_id,
            title=title,
            body=body,
            data=data,
            created_at=now,
        )
    )
    return item_id


def inbox_rows(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    unread_only: bool,
    after: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """A profile's inbox items: newest first, or oldest first after the item ``after``."""
    query = select(inbox_items).where(
        inbox_items.c.workspace_id == workspace_id, inbox_items.c.profile_id == profile_id
    )
    if unread_only:
        query = query.where(inbox_items.c.read_at.is_(None))
    if after:
        query = query.where(inbox_items.c.id > after).order_by(inbox_items.c.id)
    else:
        query = query.order_by(inbox_items.c.id.desc())
    return [dict(r) for r in conn.execute(query.limit(limit)).mappings()]


def inbox_item_ids(
    conn: Connection, *, workspace_id: str, profile_id: str, item_ids: list[str]
) -> set[str]:
    """Those of ``item_ids`` that are items of this profile's inbox."""
    rows = conn.execute(
        select(inbox_items.c.id).where(
            inbox_items.c.workspace_id == workspace_id,
            inbox_items.c.profile_id == profile_id,
            inbox_items.c.id.in_(item_ids),
        )
    )
    return {str(r[0]) for r in rows}


def mark_read(
    conn: Connection, *, workspace_id: str, profile_id: str, item_ids: list[str], now: datetime
) -> int:
    """Mark the unread ones of these items read; returns how many."""
    done = conn.execute(
        update(inbox_items)
        .where(
            inbox_items.c.workspace_id == workspace_id,
            inbox_items.c.profile_id == profile_id,
            inbox_items.c.id.in_(item_ids),
            inbox_items.c.read_at.is_(None),
        )
        .values(read_at=now)
    )
    return int(done.rowcount)


def add_agent_task(
    conn: Connection, *, task_id: str, message_id: str, now: datetime, **values: Any
) -> str:
    existing = conn.execute(
        select(agent_tasks.c.id).where(agent_tasks.c.message_id == message_id)
    ).scalar()
    if existing:
        return str(existing)
    conn.execute(
        agent_tasks.insert().values(
            id=task_id, message_id=message_id, status="open", created_at=now, **values
        )
    )
    return task_id


def task_rows(
    conn: Connection, *, workspace_id: str, status: str | None, queue: str | None
) -> list[dict[str, Any]]:
    query = select(agent_tasks).where(agent_tasks.c.workspace_id == workspace_id)
    if status:
        query = query.where(agent_tasks.c.status == status)
    if queue:
        query = query.where(agent_tasks.c.queue == queue)
    rows = conn.execute(
        query.order_by(agent_tasks.c.priority.desc(), agent_tasks.c.created_at)
    ).mappings()
    return [dict(r) for r in rows]


def tasks_per_profile(
    conn: Connection, *, workspace_id: str, since: datetime, until: datetime
) -> dict[str, int]:
    rows = conn.execute(
        select(agent_tasks.c.profile_id, func.count())
        .where(
            agent_tasks.c.workspace_id == workspace_id,
            agent_tasks.c.created_at >= since,
            agent_tasks.c.created_at < until,
        )
        .group_by(agent_tasks.c.profile_id)
    ).all()
    return {str(pid): int(n) for pid, n in rows}


def task_row(conn: Connection, *, workspace_id: str, task_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(agent_tasks).where(
                agent_tasks.c.id == task_id, agent_tasks.c.workspace_id == workspace_id
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def claim_open_task(conn: Connection, *, task_id: str, assignee: str, now: datetime) -> bool:
    """Claim the task if it is still open; False if someone holds it."""
    done = conn.execute(
        update(agent_tasks)
        .where(agent_tasks.c.id == task_id, agent_tasks.c.status == "open")
        .values(status="claimed", assignee=assignee, claimed_at=now)
    )
    return bool(done.rowcount)


def update_task(conn: Connection, *, task_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(agent_tasks).where(agent_tasks.c.id == task_id).values(**values))


def insert_ignoring_duplicates(conn: Connection, table: Any, values: dict[str, Any]) -> bool:
    """Insert a row unless its key exists; True if inserted. Uses a savepoint."""
    try:
        with conn.begin_nested():
            conn.execute(table.insert().values(**values))
    except IntegrityError:
        return False
    return True
