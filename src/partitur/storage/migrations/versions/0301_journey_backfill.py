"""journeys: backfill watermarks (replayed history positions per journey)

Revision ID: 0301_journey_backfill
Revises: 0300_journeys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import partitur.core.types

revision = "0301_journey_backfill"
down_revision = "0300_journeys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("journeys") as batch:
        batch.add_column(
            sa.Column(
                "backfilled_since", partitur.core.types.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(sa.Column("replayed_events_through", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("replayed_changes_through", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("journeys") as batch:
        batch.drop_column("replayed_changes_through")
        batch.drop_column("replayed_events_through")
        batch.drop_column("backfilled_since")
