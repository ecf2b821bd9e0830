"""Queries on the analytics tables (alerts, monitor settings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from partitur.analytics.contracts import Alert, ExperimentDecision, MonitorConfig
from partitur.analytics.tables import (
    analytics_alerts,
    analytics_monitor_config,
    experiment_decisions,
)


def get_config(conn: Connection, workspace_id: str) -> MonitorConfig:
    row = conn.execute(
        select(analytics_monitor_config.c.config).where(
            analytics_monitor_config.c.workspace_id == workspace_id
        )
    ).first()
    return MonitorConfig.model_validate(row[0]) if row else MonitorConfig()


def put_config(conn: Connection, workspace_id: str, config: MonitorConfig, now: datetime) -> None:
    doc = config.model_dump(mode="json")
    updated = conn.execute(
        analytics_monitor_config.update()
        .where(analytics_monitor_config.c.workspace_id == workspace_id)
        .values(config=doc, updated_at=now)
    )
    if updated.rowcount == 0:
        conn.execute(
            analytics_monitor_config.insert().values(
                workspace_id=workspace_id, config=doc, updated_at=now
            )
        )


def insert_alerts(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert alerts, skipping ones whose dedupe key exists; return the new ids."""
    ids: list[int] = []
    dialect = conn.dialect.name
    for row in rows:
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(analytics_alerts)
        stmt = (
            insert.values(**row)
            .on_conflict_do_nothing(index_elements=["workspace_id", "dedupe_key"])
            .returning(analytics_alerts.c.id)
        )
        new = conn.execute(stmt).first()
        if new is not None:
            ids.append(int(new[0]))
    return ids


def _alert(row: Any) -> Alert:
    return Alert.model_validate(dict(row))


def list_alerts(
    conn: Connection,
    *,
    workspace_id: str,
    kind: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[Alert]:
    query = select(analytics_alerts).where(analytics_alerts.c.workspace_id == workspace_id)
    if kind:
        query = query.where(analytics_alerts.c.kind == kind)
    if since:
        query = query.where(analytics_alerts.c.hour >= since)
    if before_id:
        query = query.where(analytics_alerts.c.id < before_id)
    rows = conn.execute(query.order_by(analytics_alerts.c.id.desc()).limit(limit)).mappings()
    return [_alert(r) for r in rows]


def alerts_by_id(conn: Connection, ids: list[int]) -> list[Alert]:
    if not ids:
        return []
    rows = conn.execute(
        select(analytics_alerts)
        .where(analytics_alerts.c.id.in_(ids))
        .order_by(analytics_alerts.c.id)
    ).mappings()
    return [_alert(r) for r in rows]


def undelivered(conn: Connection, workspace_id: str, max_attempts: int) -> list[Alert]:
    rows = conn.execute(
        select(analytics_alerts)
        .where(
            analytics_alerts.c.workspace_id == workspace_id,
            analytics_alerts.c.webhook_delivered_at.is_(None),
            analytics_alerts.c.webhook_attempts < max_attempts,
        )
        .order_by(analytics_alerts.c.id)
        .limit(500)
    ).mappings()
    return [_alert(r) for r in rows]


def mark_webhook(
    conn: Connection, alert_id: int, *, delivered_at: datetime | None, error: str | None
) -> None:
    conn.execute(
        analytics_alerts.update()
        .where(analytics_alerts.c.id == alert_id)
        .values(
            webhook_attempts=analytics_alerts.c.webhook_attempts + 1,
            webhook_delivered_at=delivered_at,
            webhook_error=error,
        )
    )


def mark_emitted(conn: Connection, ids: list[int]) -> None:
    if ids:
        conn.execute(
            analytics_alerts.update()
            .where(analytics_alerts.c.id.in_(ids))
            .values(event_emitted=True)
        )


def insert_decision(
    conn: Connection,
    *,
    workspace_id: str,
    journey_id: str,
    version: int,
    split_node: str,
    decision: ExperimentDecision,
    report: dict[str, Any],
) -> None:
    assert decision.arm is not None and decision.decided_at is not None
    conn.execute(
        experiment_decisions.insert().values(
            workspace_id=workspace_id,
            journey_id=journey_id,
            version=version,
            split_node=split_node,
            status=decision.status,
            arm=decision.arm,
            reason=decision.reason,
            decided_at=decision.decided_at,
            report=report,
        )
    )


def decisions_of(
    conn: Connection, *, workspace_id: str, journey_id: str, version: int
) -> dict[str, ExperimentDecision]:
    """The recorded decisions of a journey version by split node."""
    rows = conn.execute(
        select(
            experiment_decisions.c.split_node,
            experiment_decisions.c.status,
            experiment_decisions.c.arm,
            experiment_decisions.c.reason,
            experiment_decisions.c.decided_at,
        ).where(
            experiment_decisions.c.workspace_id == workspace_id,
            experiment_decisions.c.journey_id == journey_id,
            experiment_decisions.c.version == version,
        )
    ).all()
    return {
        r.split_node: ExperimentDecision(
            status=r.status, arm=r.arm, reason=r.reason, decided_at=r.decided_at
        )
        for r in rows
    }
