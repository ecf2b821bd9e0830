"""What crosses the ml boundary: model versions, CLV reports, sentiment, scores, drift."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


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
    bg_nbd: dict[str, float]
    gamma_gamma: dict[str, float] | None
    holdout_length: float
    predicted_holdout_purchases: float
    actual_holdout_purchases: float
    holdout_mae: float
    holdout_correlation: float | None
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
    score: float
    features: dict[str, float] = Field(default_factory=dict)


class DriftReport(BaseModel):
    model: str
    version: int
    checked_at: datetime
    score_psi: float
    feature_psi: dict[str, float]
    alert: bool
    alerts: list[str] = Field(default_factory=list)
