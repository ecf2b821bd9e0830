"""Journey maps repository: current documents, their version history, comments, taxonomy."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

from partitur.core.types import JsonDoc, UtcDateTime
from partitur.storage.base import metadata

journey_maps = Table(
    "journey_maps",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("key", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("state", String(10), nullable=False),
    Column("parent_key", String(100), nullable=True),
    Column("variant_of", String(100), nullable=True),
    Column("version", Integer, nullable=False),
    Column("document", JsonDoc, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("deleted_at", UtcDateTime, nullable=True),
    UniqueConstraint("workspace_id", "key", name="uq_journey_maps_key"),
)

journey_map_versions = Table(
    "journey_map_versions",
    metadata,
    Column("map_id", String(40), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", JsonDoc, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("changed_by", String(200), nullable=False),
    Column("note", Text, nullable=False, default=""),
)

journey_map_comments = Table(
    "journey_map_comments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("map_id", String(40), nullable=False),
    Column("element_id", String(100), nullable=True),
    Column("author", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_journey_map_comments_map", "map_id", "created_at"),
)

journey_map_taxonomies = Table(
    "journey_map_taxonomies",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("stages", JsonDoc, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
