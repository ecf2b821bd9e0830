"""audit log: the session or API token each action came through

Revision ID: 0011_audit_credential
Revises: 0010_audit_actions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_audit_credential"
down_revision = "0010_audit_actions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("credential", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("credential")
