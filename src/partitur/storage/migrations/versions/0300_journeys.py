"""journeys: definitions, versions, instances, transitions, timers

Revision ID: 0300_journeys
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import partitur.core.types

revision = "0300_journeys"
down_revision = "0001_base"
branch_labels = ("journeys",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_enrolments",
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column(
            "last_entered_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("active_instance_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("journey_id", "profile_id", name=op.f("pk_journey_enrolments")),
    )
    op.create_table(
        "journey_instances",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entered_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("current_node", sa.String(length=100), nullable=True),
        sa.Column("converted_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revenue", sa.String(length=40), nullable=True),
        sa.Column(
            "split_variants",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("rev", sa.Integer(), nullable=False),
        sa.Column("is_test", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_instances")),
    )
    op.create_index(
        "ix_journey_instances_journey_status",
        "journey_instances",
        ["journey_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_journey_instances_profile", "journey_instances", ["profile_id", "status"], unique=False
    )
    op.create_table(
        "journey_leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("expires_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_journey_leases")),
    )
    op.create_table(
        "journey_sends",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("template", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("instance_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_sends")),
        sa.UniqueConstraint("idempotency_key", name="uq_journey_sends_key"),
    )
    op.create_table(
        "journey_timers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("instance_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=100), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("due_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_timers")),
    )
    op.create_index("ix_journey_timers_due", "journey_timers", ["due_at"], unique=False)
    op.create_index("ix_journey_timers_instance", "journey_timers", ["instance_id"], unique=False)
    op.create_table(
        "journey_transitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("instance_id", sa.String(length=40), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=100), nullable=True),
        sa.Column("from_node", sa.String(length=100), nullable=True),
        sa.Column("at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_transitions")),
    )
    op.create_index(
        "ix_journey_transitions_instance",
        "journey_transitions",
        ["instance_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_journey_transitions_journey_node",
        "journey_transitions",
        ["journey_id", "node_id"],
        unique=False,
    )
    op.create_table(
        "journey_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("published_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "winners",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_versions")),
        sa.UniqueConstraint("journey_id", "version", name="uq_journey_versions_version"),
    )
    op.create_table(
        "journeys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "draft",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("latest_version", sa.Integer(), nullable=True),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "next_audience_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
        sa.UniqueConstraint("workspace_id", "key", name="uq_journeys_ws_key"),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("journeys")
    op.drop_table("journey_versions")
    op.drop_index("ix_journey_transitions_journey_node", table_name="journey_transitions")
    op.drop_index("ix_journey_transitions_instance", table_name="journey_transitions")
    op.drop_table("journey_transitions")
    op.drop_index("ix_journey_timers_instance", table_name="journey_timers")
    op.drop_index("ix_journey_timers_due", table_name="journey_timers")
    op.drop_table("journey_timers")
    op.drop_table("journey_sends")
    op.drop_table("journey_leases")
    op.drop_index("ix_journey_instances_profile", table_name="journey_instances")
    op.drop_index("ix_journey_instances_journey_status", table_name="journey_instances")
    op.drop_table("journey_instances")
    op.drop_table("journey_enrolments")
    # ### end Alembic commands ###
