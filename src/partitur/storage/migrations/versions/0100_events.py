"""events: event log and quarantine

Revision ID: 0100_events
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import partitur.core.types

revision = "0100_events"
down_revision = "0001_base"
branch_labels = ("events",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("anonymous_id", sa.String(length=255), nullable=True),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("timestamp", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "original_timestamp", partitur.core.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("sent_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("received_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "traits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "context",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("workspace_id", "source_id", "message_id", name="uq_events_message"),
    )
    op.create_index("ix_events_profile_time", "events", ["profile_id", "timestamp"], unique=False)
    op.create_table(
        "quarantine",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=True),
        sa.Column("received_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("position", sa.String(length=50), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint("workspace_id", "dedupe_key", name="uq_quarantine_dedupe"),
    )
    op.create_index(
        "ix_quarantine_ws_time", "quarantine", ["workspace_id", "received_at"], unique=False
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index("ix_quarantine_ws_time", table_name="quarantine")
    op.drop_table("quarantine")
    op.drop_index("ix_events_profile_time", table_name="events")
    op.drop_table("events")
    # ### end Alembic commands ###
