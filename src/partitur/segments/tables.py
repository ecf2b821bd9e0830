"""Tables of the segments domain: definitions (versioned), memberships, window checks and the
membership change feed that journeys consume."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.storage.base import metadata

segments = Table(
    "segments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("key", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    # the rule document (core/rules.py), as JSON
    Column("rule", JsonDoc, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # when membership was last computed from scratch (create, update, rebuild)
    Column("built_at", UtcDateTime, nullable=True),
    UniqueConstraint("workspace_id", "key", name="uq_segments_key"),
)

#: Every version of every definition ever saved (published versions are immutable history).
segment_versions = Table(
    "segment_versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("key", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JsonDoc, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    UniqueConstraint("workspace_id", "key", "version", name="uq_segment_versions"),
)

segment_memberships = Table(
    "segment_memberships",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("segment_key", String(100), primary_key=True),
    Column("profile_id", String(40), primary_key=True),
    Column("entered_at", UtcDateTime, nullable=False),
    # a profile's memberships; profile ids are unique across workspaces
    Index("ix_segment_memberships_profile", "profile_id", "segment_key", "workspace_id"),
)

#: When time alone may change a profile's membership (a window edge passes): re-check then.
segment_checks = Table(
    "segment_checks",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("segment_key", String(100), primary_key=True),
    Column("profile_id", String(40), primary_key=True),
    Column("due_at", UtcDateTime, nullable=False),
    Index("ix_segment_checks_due", "due_at"),
)

segment_membership_changes = Table(
    "segment_membership_changes",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("segment_key", String(100), nullable=False),
    Column("profile_id", String(40), nullable=False),
    # entered | exited
    Column("change", String(8), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_segment_changes_ws_seq", "workspace_id", "seq"),
)
