"""Privacy: the audit trail (who changed what, when), erasure and export of a person's data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from partitur.core.pagination import decode_cursor, encode_cursor
from partitur.privacy.contracts import AuditEntry, AuditPage
from partitur.storage.audit import audit_log


def audit_trail(
    conn: Connection,
    *,
    workspace_id: str,
    subject_type: str | None = None,
    subject_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> AuditPage:
    """The workspace's audit entries, newest first, filtered by any of subject, actor, action
    (an exact name, or a prefix ending in ``.`` such as ``journey.``) and time."""
    query = select(audit_log).where(audit_log.c.workspace_id == workspace_id)
    if subject_type is not None:
        query = query.where(audit_log.c.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(audit_log.c.subject_id == subject_id)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if action is not None:
        if action.endswith("."):
            query = query.where(audit_log.c.action.startswith(action, autoescape=True))
        else:
            query = query.where(audit_log.c.action == action)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    if cursor is not None:
        query = query.where(audit_log.c.id < int(decode_cursor(cursor)))
    rows = conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit + 1)).mappings().all()
    items = [AuditEntry.model_validate(dict(r)) for r in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(items=items, next_cursor=encode_cursor(items[-1].id) if more else None)


def subject_history(
    conn: Connection, *, workspace_id: str, subject_type: str, subject_id: str
) -> list[AuditEntry]:
    """Every audit entry about one subject, oldest first."""
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
