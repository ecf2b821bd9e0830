"""Tables of the ml domain: the model registry and drift checks."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, UniqueConstraint

from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.storage.base import metadata

#: One row per trained model version; artefacts live under ``settings.var_dir/models``.
ml_models = Table(
    "ml_models",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    # churn, propensity_<name>, clv, journey_success ...
    Column("name", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    # bg_nbd_gamma_gamma | lightgbm_classifier
    Column("kind", String(50), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    # parameters, feature names, training window, ...
    Column("params", JsonDoc, nullable=False),
    # evaluation report (ROC-AUC, PR-AUC, Brier, lift, holdout errors, ...)
    Column("metrics", JsonDoc, nullable=False),
    # path of the artefact directory relative to var_dir
    Column("artifact", String(500), nullable=True),
    UniqueConstraint("workspace_id", "name", "version", name="uq_ml_models_version"),
)

#: Population stability checks of features and scores against the training distribution.
ml_drift_checks = Table(
    "ml_drift_checks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("model", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("checked_at", UtcDateTime, nullable=False),
    # {"score": 0.03, "features": {"recency_days": 0.31, ...}}
    Column("psi", JsonDoc, nullable=False),
    Column("alert", Boolean, nullable=False),
    Index("ix_ml_drift_checks_model", "workspace_id", "model", "checked_at"),
)
