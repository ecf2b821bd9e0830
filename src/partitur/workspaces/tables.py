from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint

from partitur.core.types import UtcDateTime
from partitur.storage.base import metadata

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(200), nullable=False),
    # Write keys identify a source, like Segment's; they sit in web pages, so they are not secret.
    Column("write_key", String(100), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime, nullable=True),
    UniqueConstraint("workspace_id", "name"),
)
