"""channels: templates an admin marked as transactional

Revision ID: 0540_channels_transactional
Revises: 0530_channels_replayed
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0540_channels_transactional"
down_revision = "0530_channels_replayed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message_templates") as batch:
        batch.add_column(
            sa.Column("transactional", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("message_templates") as batch:
        batch.drop_column("transactional")
