"""channels: when a replayed send happened on the journey's clock

Revision ID: 0530_channels_replayed
Revises: 0520_channels_endpoint_states
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import partitur.core.types

revision = "0530_channels_replayed"
down_revision = "0520_channels_endpoint_states"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("replayed_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("replayed_at")
