"""The audit trail: every service function that changes state records what, who and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, select

from partitur.core import jsonutil
from partitur.privacy.tables import audit_log
from partitur.storage.scratch import db_times, insert_rows


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    details: dict[str, Any] | None = None


def record_audit(
    conn: Connection,
    *,
    workspace_id: str,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    at: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row inside the caller's transaction."""
    conn.execute(
        audit_log.insert().values(
            workspace_id=workspace_id,
            at=at,
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            details=details,
        )
    )


def list_audit(
    conn: Connection, *, workspace_id: str, subject_type: str, subject_id: str
) -> list[AuditEntry]:
    rows = conn.execute(
        select(audit_log)
        .where(
            audit_log.c.workspace_id == workspace_id,
            audit_log.c.subject_type == subject_type,
            audit_log.c.subject_id == subject_id,
        )
        .order_by(audit_log.c.id)
    ).mappings()
    return [AuditEntry.model_validate(dict(r)) for r in rows]


def record_audits(conn: Connection, entries: list[dict[str, Any]]) -> None:
    """Append many audit rows at once (each a dict of ``record_audit``'s keyword arguments),
    straight through the driver (merges of a bulk resolution make tens of thousands)."""
    time = db_times(conn)
    insert_rows(
        conn,
        "audit_log",
        ("workspace_id", "at", "actor", "action", "subject_type", "subject_id", "details"),
        [
            (
                e["workspace_id"],
                time(e["at"]),
                e["actor"],
                e["action"],
                e["subject_type"],
                e["subject_id"],
                jsonutil.dumps_str(e["details"]) if e.get("details") is not None else None,
            )
            for e in entries
        ],
    )
