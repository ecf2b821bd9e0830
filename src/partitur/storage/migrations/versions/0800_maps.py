"""journey maps: documents, versions, comments, stage taxonomy

Revision ID: 0800_maps
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import partitur.core.types

revision = "0800_maps"
down_revision = "0001_base"
branch_labels = ("maps",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_map_comments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("map_id", sa.String(length=40), nullable=False),
        sa.Column("element_id", sa.String(length=100), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_map_comments")),
    )
    op.create_index(
        "ix_journey_map_comments_map",
        "journey_map_comments",
        ["map_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "journey_map_taxonomies",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column(
            "stages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_journey_map_taxonomies")),
    )
    op.create_table(
        "journey_map_versions",
        sa.Column("map_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("changed_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("map_id", "version", name=op.f("pk_journey_map_versions")),
    )
    op.create_table(
        "journey_maps",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("parent_key", sa.String(length=100), nullable=True),
        sa.Column("variant_of", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_maps")),
        sa.UniqueConstraint("workspace_id", "key", name="uq_journey_maps_key"),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("journey_maps")
    op.drop_table("journey_map_versions")
    op.drop_table("journey_map_taxonomies")
    op.drop_index("ix_journey_map_comments_map", table_name="journey_map_comments")
    op.drop_table("journey_map_comments")
    # ### end Alembic commands ###
