"""The identity graph: which identifier values belong to which profile."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table

from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.storage.base import metadata

identities = Table(
    "identities",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    # user_id | anonymous_id | email | phone | external:<name>
    Column("kind", String(64), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column("profile_id", String(40), nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Index("ix_identities_profile", "profile_id"),
)

identity_merges = Table(
    "identity_merges",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("survivor_id", String(40), nullable=False),
    Column("merged_id", String(40), nullable=False),
    Column("merged_at", UtcDateTime, nullable=False),
    # the linking identifiers and the event (seq) that caused the merge
    Column("reason", JsonDoc, nullable=True),
    Column("event_seq", BigInteger, nullable=True),
    Index("ix_identity_merges_survivor", "survivor_id"),
)

suppressed_identifiers = Table(
    "suppressed_identifiers",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("kind", String(64), primary_key=True),
    # SHA-256 of the erased value: erased people are not kept in clear text
    Column("value_hash", String(64), primary_key=True),
    Column("erased_at", UtcDateTime, nullable=False),
    Column("dropped_count", BigInteger, nullable=False, default=0),
)
