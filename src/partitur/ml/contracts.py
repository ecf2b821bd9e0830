"""What crosses the ml boundary: model versions, CLV reports, sentiment, scores, drift."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from partitur.core.rules import PropertyFilter


class ModelVersion(BaseModel):
    """One trained, versioned model in the registry."""

    name: str
    version: int
    kind: str
    created_at: datetime
    active: bool
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    artifact: str | None = None


class ClvBucket(BaseModel):
    """Holdout check for customers with the same calibration frequency."""

    frequency: str
    customers: int
    predicted: float
    actual: float


class ClvReport(BaseModel):
    """The result of ``partitur models clv``: fits, the holdout validation and what was stored."""

    until: datetime
    holdout_end: datetime
    unit: Literal["days", "weeks"]
    customers: int
    repeat_customers: int
    #: the currency of every amount (orders in other currencies are converted)
    currency: str = "EUR"
    #: orders whose currency has no configured rate (left out of the spend)
    unconverted_orders: int = 0
    bg_nbd: dict[str, float]
    gamma_gamma: dict[str, float] | None
    #: "fitted", or why the fit was not used ("degenerate: ...", "no repeat customers") and
    #: the fallback taken instead
    gamma_gamma_status: str = "fitted"
    holdout_length: float
    predicted_holdout_purchases: float
    actual_holdout_purchases: float
    holdout_mae: float
    holdout_correlation: float | None
    #: predicted / actual purchases in the holdout (1 = calibrated in total)
    holdout_ratio: float | None = None
    #: customers in ten groups by predicted purchases: mean predicted against mean actual
    calibration: list[ClvBucket] = Field(default_factory=list)
    buckets: list[ClvBucket]
    profiles_updated: int
    model_version: int | None = None
    chart: str | None = None


class Sentiment(BaseModel):
    """Sentiment of one text: score in [-1, 1], a label and the language it was read in."""

    score: float = Field(ge=-1.0, le=1.0)
    label: Literal["negative", "neutral", "positive"]
    language: Literal["de", "en"]
    matched: list[str] = Field(default_factory=list, description="lexicon words that counted")


class Topic(BaseModel):
    id: int
    language: Literal["de", "en"]
    label: str
    keywords: list[str]
    size: int


class TopicModel(BaseModel):
    topics: list[Topic]
    assignments: list[int] = Field(description="topic id per input text (-1: none)")


class ScoreResult(BaseModel):
    model: str
    version: int
    profile_id: str
    #: None when the profile is outside the model's population (it is not scored)
    score: float | None
    in_population: bool = True
    features: dict[str, float | str | None] = Field(default_factory=dict)


class DriftReport(BaseModel):
    model: str
    version: int
    checked_at: datetime
    score_psi: float
    feature_psi: dict[str, float]
    alert: bool
    alerts: list[str] = Field(default_factory=list)


# --- propensity models ----------------------------------------------------------------------


class PopulationSpec(BaseModel):
    """Who is trained and scored: the same rule at every snapshot and at scoring time."""

    model_config = ConfigDict(extra="forbid")

    identified_only: bool = Field(
        default=True, description="only profiles with a known user id (customers, not visitors)"
    )
    active_within_days: int | None = Field(
        default=None,
        ge=1,
        description="only profiles with a customer activity in this many days before the "
        "snapshot (default: the lookback)",
    )
    min_orders: int = Field(default=0, ge=0, description="orders before the snapshot")


class LabelSpec(BaseModel):
    """What the model predicts within the horizon after a snapshot.

    ``churn``: no customer activity (``activity_events``, default every event a customer
    makes: visits, views, orders, opens, tickets, ...) within the horizon. ``event``: at least
    one ``event`` matching ``where`` (the shared rule format's property filters) within the
    horizon, e.g. buying in a category, calling support, opening an e-mail."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["churn", "event"] = "churn"
    event: str | None = None
    where: list[PropertyFilter] = Field(default_factory=list)
    activity_events: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> LabelSpec:
        if self.kind == "event" and not self.event:
            raise ValueError("an event label names its event")
        if self.kind == "churn" and (self.event or self.where):
            raise ValueError("a churn label has no event; list activity_events instead")
        return self


class FeatureSelection(BaseModel):
    """Inputs: built-in behavioural features (all when ``builtin`` is None) plus traits and
    computed traits read from the profile (``traits.loyalty_tier``, ``computed.clv.value``;
    text values are categorical). Traits are read as they are now: choose stable ones."""

    model_config = ConfigDict(extra="forbid")

    builtin: list[str] | None = None
    traits: list[str] = Field(default_factory=list)


class PropensityDefinition(BaseModel):
    """A propensity model: population, label, features and horizon (see docs/intelligence.md)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    population: PopulationSpec = Field(default_factory=PopulationSpec)
    label: LabelSpec = Field(default_factory=LabelSpec)
    features: FeatureSelection = Field(default_factory=FeatureSelection)
    horizon_days: int = Field(default=60, ge=1, le=730)
    lookback_days: int = Field(
        default=56, ge=7, le=730, description="history each snapshot's features look at"
    )
    order_event: str = "Order Completed"


class ModelComparison(BaseModel):
    """The candidate model against the logistic baseline on the same out-of-time test rows."""

    name: str
    version: int
    #: the boosted model beat the baseline and is the one that scores
    activated: bool
    #: what scores customers with this version: "model" or "baseline"
    serving: Literal["model", "baseline"]
    reason: str
    split: str
    train_rows: int
    test_rows: int
    positive_rate_test: float
    model_roc_auc: float
    baseline_roc_auc: float
    auc_difference: float
    auc_difference_interval: list[float]
    model_brier: float
    baseline_brier: float
