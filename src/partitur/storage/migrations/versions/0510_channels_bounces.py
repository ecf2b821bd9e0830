"""channels: bounce ledger (soft bounces counted before an address is undeliverable)

Revision ID: 0510_channels_bounces
Revises: 0500_channels
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import partitur.core.types

revision = "0510_channels_bounces"
down_revision = "0500_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bounces",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.String(length=20), nullable=True),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounces")),
    )
    op.create_index(
        "ix_bounces_address",
        "bounces",
        ["workspace_id", "channel", "address", "received_at"],
        unique=False,
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index("ix_bounces_address", table_name="bounces")
    op.drop_table("bounces")
    # ### end Alembic commands ###
