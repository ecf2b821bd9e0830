"""channels: circuit-breaker and rate-limit state shared by worker processes

Revision ID: 0520_channels_endpoint_states
Revises: 0510_channels_bounces
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import partitur.core.types

revision = "0520_channels_endpoint_states"
down_revision = "0510_channels_bounces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endpoint_states",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("open_until", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("tokens", sa.Float(), nullable=True),
        sa.Column("tokens_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_endpoint_states")),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("endpoint_states")
    # ### end Alembic commands ###
