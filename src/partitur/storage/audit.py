"""The audit log: one row per action (see ``partitur.core.actions``), written in the action's
own transaction; bulk system work (identity merges) appends many rows at once.

Querying it is the privacy domain's (``privacy.service.audit_trail``); so is pseudonymising the
rows about an erased person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Column, Connection, Index, String, Table

from partitur.core import jsonutil
from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.storage.base import metadata
from partitur.storage.bulk import db_times, insert_rows

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("subject_type", String(50), nullable=False),
    Column("subject_id", String(200), nullable=False),
    Column("details", JsonDoc, nullable=True),
    Column("before", JsonDoc, nullable=True),
    Column("after", JsonDoc, nullable=True),
    Column("request_id", String(100), nullable=True),
    Column("ip", String(64), nullable=True),
    # the session (``ses_…``) or API token (``tok_…``) the actor came through
    Column("credential", String(40), nullable=True),
    Index("ix_audit_log_subject", "workspace_id", "subject_type", "subject_id"),
    Index("ix_audit_log_workspace_at", "workspace_id", "at"),
)


@dataclass(frozen=True)
class AuditRecord:
    workspace_id: str
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    details: dict[str, Any] | None = None
    before: Any = None
    after: Any = None
    request_id: str | None = None
    ip: str | None = None
    credential: str | None = None


def _json(value: Any) -> Any:
    """Before/after values as JSON documents (models and datetimes made plain)."""
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return jsonutil.loads(jsonutil.dumps(value))


def write_audit(conn: Connection, record: AuditRecord) -> None:
    """Append one audit row inside the caller's transaction."""
    conn.execute(
        audit_log.insert().values(
            workspace_id=record.workspace_id,
            at=record.at,
            actor=record.actor,
            action=record.action,
            subject_type=record.subject_type,
            subject_id=record.subject_id,
            details=_json(record.details),
            before=_json(record.before),
            after=_json(record.after),
            request_id=record.request_id,
            ip=record.ip,
            credential=record.credential,
        )
    )


def write_audits(conn: Connection, records: list[AuditRecord]) -> None:
    """Append many audit rows at once, straight through the driver (the merges of a bulk
    identity resolution make tens of thousands)."""
    time = db_times(conn.dialect.name)
    insert_rows(
        conn,
        "audit_log",
        ("workspace_id", "at", "actor", "action", "subject_type", "subject_id", "details"),
        [
            (
                r.workspace_id,
                time(r.at),
                r.actor,
                r.action,
                r.subject_type,
                r.subject_id,
                jsonutil.dumps_str(r.details) if r.details is not None else None,
            )
            for r in records
        ],
    )
