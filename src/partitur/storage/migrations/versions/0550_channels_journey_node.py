"""channels: find a journey's messages per node without reading the whole outbox

Revision ID: 0550_channels_journey_node
Revises: 0540_channels_transactional
"""

from __future__ import annotations

from alembic import op

revision = "0550_channels_journey_node"
down_revision = "0540_channels_transactional"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_journey_node", "messages", ["journey_id", "node_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_journey_node", table_name="messages")
