"""audit log of actions: before/after, request id and IP; index by time

Revision ID: 0010_audit_actions
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0010_audit_actions"
down_revision = "0001_base"
branch_labels = ("audit",)
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("before", _JSON, nullable=True))
        batch.add_column(sa.Column("after", _JSON, nullable=True))
        batch.add_column(sa.Column("request_id", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("ip", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_log_workspace_at", "audit_log", ["workspace_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_workspace_at", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("ip")
        batch.drop_column("request_id")
        batch.drop_column("after")
        batch.drop_column("before")
