"""Queries of the decisions domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from partitur.core.types import utc_from_db
from partitur.decisions.tables import decision_impressions, decision_offers, decision_policies
from partitur.storage import driver
from partitur.storage.bulk import db_time


def latest_policy(conn: Connection, workspace_id: str, kind: str) -> Any | None:
    return conn.execute(
        select(decision_policies)
        .where(decision_policies.c.workspace_id == workspace_id, decision_policies.c.kind == kind)
        .order_by(decision_policies.c.version.desc())
        .limit(1)
    ).first()


def insert_policy(
    conn: Connection,
    *,
    workspace_id: str,
    kind: str,
    document: dict[str, Any],
    now: datetime,
    actor: str,
) -> int:
    current = conn.execute(
        select(func.max(decision_policies.c.version)).where(
            decision_policies.c.workspace_id == workspace_id, decision_policies.c.kind == kind
        )
    ).scalar()
    version = int(current or 0) + 1
    conn.execute(
        decision_policies.insert().values(
            workspace_id=workspace_id,
            kind=kind,
            version=version,
            document=document,
            created_at=now,
            created_by=actor,
        )
    )
    return version


def offer_rows(conn: Connection, workspace_id: str, *, active_only: bool = False) -> list[Any]:
    query = select(decision_offers).where(decision_offers.c.workspace_id == workspace_id)
    if active_only:
        query = query.where(decision_offers.c.active.is_(True))
    return list(conn.execute(query.order_by(decision_offers.c.key)).all())


def offer_row(conn: Connection, workspace_id: str, key: str) -> Any | None:
    return conn.execute(
        select(decision_offers).where(
            decision_offers.c.workspace_id == workspace_id, decision_offers.c.key == key
        )
    ).first()


def impressions_per_offer(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str | None,
    since: datetime | None,
    keys: list[str],
) -> dict[str, int]:
    if not keys:
        return {}
    query = select(decision_impressions.c.offer_key, func.count()).where(
        decision_impressions.c.workspace_id == workspace_id,
        decision_impressions.c.offer_key.in_(keys),
    )
    if profile_id is not None:
        query = query.where(decision_impressions.c.profile_id == profile_id)
    if since is not None:
        query = query.where(decision_impressions.c.shown_at >= since)
    rows = conn.execute(query.group_by(decision_impressions.c.offer_key)).all()
    return {r[0]: int(r[1]) for r in rows}


# The offer decision runs these on every request: SQL on the driver's cursor, written once.
_IMPRESSION_TIMES_SQL = (
    "SELECT offer_key, shown_at FROM decision_impressions WHERE workspace_id = ?"
    " AND profile_id = ? AND offer_key IS NOT NULL AND shown_at >= ?"
)
_RECORD_IMPRESSION_SQL = (
    "INSERT INTO decision_impressions"
    " (workspace_id, profile_id, offer_key, placement, holdout, score, shown_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def profile_impression_times(
    conn: Connection, *, workspace_id: str, profile_id: str, since: datetime
) -> list[tuple[str, datetime]]:
    found = driver.rows(
        conn,
        driver.sql(conn, _IMPRESSION_TIMES_SQL),
        (workspace_id, profile_id, db_time(conn, since)),
    )
    return [(key, utc_from_db(at)) for key, at in found]  # type: ignore[misc]


def record_impression(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    offer_key: str | None,
    placement: str,
    holdout: bool,
    score: float | None,
    now: datetime,
) -> None:
    driver.execute(
        conn,
        driver.sql(conn, _RECORD_IMPRESSION_SQL),
        (
            workspace_id,
            profile_id,
            offer_key,
            placement,
            holdout,
            score,
            db_time(conn, now),
        ),
    )
