"""identity graph and unified profiles

Revision ID: 0200_profiles
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import partitur.core.types

revision = "0200_profiles"
down_revision = "0001_base"
branch_labels = ("profiles",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("first_seen_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "kind", "value", name=op.f("pk_identities")),
    )
    op.create_index("ix_identities_profile", "identities", ["profile_id"], unique=False)
    op.create_table(
        "identity_merges",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("survivor_id", sa.String(length=40), nullable=False),
        sa.Column("merged_id", sa.String(length=40), nullable=False),
        sa.Column("merged_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "reason",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("event_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_merges")),
    )
    op.create_index("ix_identity_merges_survivor", "identity_merges", ["survivor_id"], unique=False)
    op.create_table(
        "profile_imports",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("imported_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "row_hash", name=op.f("pk_profile_imports")),
    )
    op.create_table(
        "profiles",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("merged_into", sa.String(length=40), nullable=True),
        sa.Column(
            "traits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "trait_times",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "computed",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("first_seen_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("is_test", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
    )
    op.create_index("ix_profiles_merged_into", "profiles", ["merged_into"], unique=False)
    op.create_index(
        "ix_profiles_ws_seen", "profiles", ["workspace_id", "last_seen_at"], unique=False
    )
    op.create_table(
        "suppressed_identifiers",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("value_hash", sa.String(length=64), nullable=False),
        sa.Column("erased_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("dropped_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "kind", "value_hash", name=op.f("pk_suppressed_identifiers")
        ),
    )
    op.create_table(
        "trait_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("trait", sa.String(length=200), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("changed_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trait_history")),
    )
    op.create_index(
        "ix_trait_history_profile",
        "trait_history",
        ["profile_id", "trait", "changed_at"],
        unique=False,
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index("ix_trait_history_profile", table_name="trait_history")
    op.drop_table("trait_history")
    op.drop_table("suppressed_identifiers")
    op.drop_index("ix_profiles_ws_seen", table_name="profiles")
    op.drop_index("ix_profiles_merged_into", table_name="profiles")
    op.drop_table("profiles")
    op.drop_table("profile_imports")
    op.drop_index("ix_identity_merges_survivor", table_name="identity_merges")
    op.drop_table("identity_merges")
    op.drop_index("ix_identities_profile", table_name="identities")
    op.drop_table("identities")
    # ### end Alembic commands ###
