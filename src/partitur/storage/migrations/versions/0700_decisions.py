"""ml and decisions: model registry, drift checks, policies, offers, impressions

Revision ID: 0700_decisions
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import partitur.core.types

revision = "0700_decisions"
down_revision = "0001_base"
branch_labels = ("decisions",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_impressions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("offer_key", sa.String(length=100), nullable=True),
        sa.Column("placement", sa.String(length=100), nullable=False),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("shown_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_impressions")),
    )
    op.create_index(
        "ix_decision_impressions_offer",
        "decision_impressions",
        ["workspace_id", "offer_key"],
        unique=False,
    )
    op.create_index(
        "ix_decision_impressions_profile",
        "decision_impressions",
        ["workspace_id", "profile_id", "shown_at"],
        unique=False,
    )
    op.create_table(
        "decision_offers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column(
            "placements",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "eligibility",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("valid_from", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("valid_until", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("margin", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("propensity_score", sa.String(length=100), nullable=True),
        sa.Column("base_propensity", sa.Numeric(precision=8, scale=6), nullable=False),
        sa.Column("per_profile_cap", sa.Integer(), nullable=True),
        sa.Column("per_profile_window", sa.String(length=40), nullable=True),
        sa.Column("global_cap", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_offers")),
        sa.UniqueConstraint("workspace_id", "key", name="uq_decision_offers_key"),
    )
    op.create_table(
        "decision_policies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_policies")),
        sa.UniqueConstraint("workspace_id", "kind", "version", name="uq_decision_policies_version"),
    )
    op.create_table(
        "ml_drift_checks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("checked_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "psi",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ml_drift_checks")),
    )
    op.create_index(
        "ix_ml_drift_checks_model",
        "ml_drift_checks",
        ["workspace_id", "model", "checked_at"],
        unique=False,
    )
    op.create_table(
        "ml_models",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("artifact", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ml_models")),
        sa.UniqueConstraint("workspace_id", "name", "version", name="uq_ml_models_version"),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("ml_models")
    op.drop_index("ix_ml_drift_checks_model", table_name="ml_drift_checks")
    op.drop_table("ml_drift_checks")
    op.drop_table("decision_policies")
    op.drop_table("decision_offers")
    op.drop_index("ix_decision_impressions_profile", table_name="decision_impressions")
    op.drop_index("ix_decision_impressions_offer", table_name="decision_impressions")
    op.drop_table("decision_impressions")
    # ### end Alembic commands ###
