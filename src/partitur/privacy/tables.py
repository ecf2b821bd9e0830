from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.storage.base import metadata

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
    Index("ix_audit_log_subject", "workspace_id", "subject_type", "subject_id"),
)
