"""events: timeline index only for resolved events, a small index of the unresolved ones

The timeline index (profile_id, timestamp) no longer holds the events that have no profile
yet: ingestion and imports skip one random-order index insert per event, and identity
resolution one random-order delete. Finding unresolved events uses a small index on seq that
only holds them (appended at ingestion, removed in seq order by resolution).

Revision ID: 0101_events_unresolved
Revises: 0100_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0101_events_unresolved"
down_revision = "0100_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_events_profile_time", table_name="events")
    op.create_index(
        "ix_events_profile_time",
        "events",
        ["profile_id", "timestamp"],
        unique=False,
        sqlite_where=sa.text("profile_id IS NOT NULL"),
        postgresql_where=sa.text("profile_id IS NOT NULL"),
    )
    op.create_index(
        "ix_events_unresolved",
        "events",
        ["seq"],
        unique=False,
        sqlite_where=sa.text("profile_id IS NULL"),
        postgresql_where=sa.text("profile_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_events_unresolved", table_name="events")
    op.drop_index("ix_events_profile_time", table_name="events")
    op.create_index("ix_events_profile_time", "events", ["profile_id", "timestamp"], unique=False)
