"""journeys: submissions of drafts for four-eyes publishing

Revision ID: 0303_journey_submissions
Revises: 0302_drop_journey_sends
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import partitur.core.types

revision = "0303_journey_submissions"
down_revision = "0302_drop_journey_sends"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_submissions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("journey_key", sa.String(length=100), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_by_name", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_by_name", sa.String(length=200), nullable=True),
        sa.Column("decided_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_submissions")),
    )
    op.create_index(
        "ix_journey_submissions_journey",
        "journey_submissions",
        ["journey_id", "submitted_at"],
        unique=False,
    )
    op.create_index(
        "ix_journey_submissions_status",
        "journey_submissions",
        ["workspace_id", "status"],
        unique=False,
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index("ix_journey_submissions_status", table_name="journey_submissions")
    op.drop_index("ix_journey_submissions_journey", table_name="journey_submissions")
    op.drop_table("journey_submissions")
    # ### end Alembic commands ###
