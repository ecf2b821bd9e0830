"""segments: definitions, versions, memberships, window checks, change feed

Revision ID: 0400_segments
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import partitur.core.types

revision = "0400_segments"
down_revision = "0001_base"
branch_labels = ("segments",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_checks",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("segment_key", sa.String(length=100), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("due_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "segment_key", "profile_id", name=op.f("pk_segment_checks")
        ),
    )
    op.create_index("ix_segment_checks_due", "segment_checks", ["due_at"], unique=False)
    op.create_table(
        "segment_membership_changes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("segment_key", sa.String(length=100), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("change", sa.String(length=8), nullable=False),
        sa.Column("at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_segment_membership_changes")),
    )
    op.create_index(
        "ix_segment_changes_ws_seq",
        "segment_membership_changes",
        ["workspace_id", "seq"],
        unique=False,
    )
    op.create_table(
        "segment_memberships",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("segment_key", sa.String(length=100), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("entered_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "segment_key", "profile_id", name=op.f("pk_segment_memberships")
        ),
    )
    op.create_index(
        "ix_segment_memberships_profile",
        "segment_memberships",
        ["profile_id", "segment_key", "workspace_id"],
        unique=False,
    )
    op.create_table(
        "segment_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_versions")),
        sa.UniqueConstraint("workspace_id", "key", "version", name="uq_segment_versions"),
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "rule",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("built_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("workspace_id", "key", name="uq_segments_key"),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("segments")
    op.drop_table("segment_versions")
    op.drop_index("ix_segment_memberships_profile", table_name="segment_memberships")
    op.drop_table("segment_memberships")
    op.drop_index("ix_segment_changes_ws_seq", table_name="segment_membership_changes")
    op.drop_table("segment_membership_changes")
    op.drop_index("ix_segment_checks_due", table_name="segment_checks")
    op.drop_table("segment_checks")
    # ### end Alembic commands ###
