"""analytics: the auto-winner's experiment decisions

Revision ID: 0610_analytics_experiments
Revises: 0600_analytics
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import partitur.core.types

revision = "0610_analytics_experiments"
down_revision = "0600_analytics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_experiment_decisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("split_node", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("arm", sa.String(length=50), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_experiment_decisions")),
        sa.UniqueConstraint(
            "workspace_id", "journey_id", "version", "split_node", name="uq_analytics_experiment"
        ),
    )


def downgrade() -> None:
    op.drop_table("analytics_experiment_decisions")
