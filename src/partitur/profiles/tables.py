"""Unified profiles: current traits, computed traits and the history of every trait."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, String, Table

from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.storage.base import metadata

profiles = Table(
    "profiles",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Set when this profile was merged into another; lookups follow it to the survivor.
    Column("merged_into", String(40), nullable=True),
    Column("traits", JsonDoc, nullable=False),
    # {trait: ISO time it was last set}; merges keep the most recent value of each trait
    Column("trait_times", JsonDoc, nullable=False),
    # first_seen, last_seen, event_count, order_count, revenue, last_channel, scores, ...
    Column("computed", JsonDoc, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=True),
    Column("last_seen_at", UtcDateTime, nullable=True),
    Column("timezone", String(64), nullable=True),
    Column("locale", String(16), nullable=True),
    Column("is_test", Boolean, nullable=False, default=False),
    Index("ix_profiles_ws_seen", "workspace_id", "last_seen_at"),
    Index("ix_profiles_merged_into", "merged_into"),
)

trait_history = Table(
    "trait_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", String(40), nullable=False),
    Column("trait", String(200), nullable=False),
    Column("value", JsonDoc, nullable=True),
    Column("changed_at", UtcDateTime, nullable=False),
    # event seq, "api", "import:<file>", ...
    Column("source", String(300), nullable=True),
    Index("ix_trait_history_profile", "profile_id", "trait", "changed_at"),
)

#: Content hashes of imported CSV rows: re-running an import skips rows already applied.
profile_imports = Table(
    "profile_imports",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("row_hash", String(64), primary_key=True),
    Column("profile_id", String(40), nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
)
