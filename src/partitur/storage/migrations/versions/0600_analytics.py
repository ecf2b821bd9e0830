"""analytics: data-quality alerts and monitor settings

Revision ID: 0600_analytics
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import partitur.core.types

revision = "0600_analytics"
down_revision = "0001_base"
branch_labels = ("analytics",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_alerts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=True),
        sa.Column("event_name", sa.String(length=255), nullable=True),
        sa.Column("property", sa.String(length=200), nullable=True),
        sa.Column("hour", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("observed", sa.Float(), nullable=True),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("dedupe_key", sa.String(length=600), nullable=False),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("event_emitted", sa.Boolean(), nullable=False),
        sa.Column("webhook_attempts", sa.Integer(), nullable=False),
        sa.Column(
            "webhook_delivered_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("webhook_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_alerts")),
        sa.UniqueConstraint("workspace_id", "dedupe_key", name="uq_analytics_alerts_dedupe"),
    )
    op.create_index(
        "ix_analytics_alerts_ws_hour", "analytics_alerts", ["workspace_id", "hour"], unique=False
    )
    op.create_table(
        "analytics_monitor_config",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_analytics_monitor_config")),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("analytics_monitor_config")
    op.drop_index("ix_analytics_alerts_ws_hour", table_name="analytics_alerts")
    op.drop_table("analytics_alerts")
    # ### end Alembic commands ###
