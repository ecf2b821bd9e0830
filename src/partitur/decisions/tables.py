"""Tables of the decisions domain: policies (routing, value model), offers, impressions."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)

from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.storage.base import metadata

#: Versioned policy documents: kind ``routing`` or ``value_model``; the highest version is live.
decision_policies = Table(
    "decision_policies",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JsonDoc, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    UniqueConstraint("workspace_id", "kind", "version", name="uq_decision_policies_version"),
)

#: The offer catalogue.
decision_offers = Table(
    "decision_offers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("key", String(100), nullable=False),
    Column("name", String(300), nullable=False),
    # placements the offer may be shown in; empty = any
    Column("placements", JsonDoc, nullable=False),
    # a rule in the shared format (partitur.core.rules); null = everyone
    Column("eligibility", JsonDoc, nullable=True),
    Column("valid_from", UtcDateTime, nullable=True),
    Column("valid_until", UtcDateTime, nullable=True),
    Column("priority", Integer, nullable=False, default=0),
    Column("cost", Numeric(18, 4), nullable=False),
    Column("margin", Numeric(18, 4), nullable=False),
    # score name under computed.scores used as propensity; null = base_propensity
    Column("propensity_score", String(100), nullable=True),
    Column("base_propensity", Numeric(8, 6), nullable=False),
    Column("per_profile_cap", Integer, nullable=True),
    Column("per_profile_window", String(40), nullable=True),
    Column("global_cap", Integer, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "key", name="uq_decision_offers_key"),
)

#: Every offer decision: what was shown to whom (offer_key null + holdout = held out).
decision_impressions = Table(
    "decision_impressions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("offer_key", String(100), nullable=True),
    Column("placement", String(100), nullable=False),
    Column("holdout", Boolean, nullable=False, default=False),
    Column("score", Numeric(18, 6), nullable=True),
    Column("shown_at", UtcDateTime, nullable=False),
    Index("ix_decision_impressions_profile", "workspace_id", "profile_id", "shown_at"),
    Index("ix_decision_impressions_offer", "workspace_id", "offer_key"),
)
