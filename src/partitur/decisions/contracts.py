"""What crosses the decisions boundary: value model, routing policy, offers and decisions.

Conditions everywhere use the shared rule format (``partitur.core.rules``). Rules in
routing see the profile's traits, ``computed.*`` and the request as ``request.*`` traits:
``request.intent``, ``request.channel``, ``request.urgency``, ``request.escalated``,
``request.sentiment`` / ``request.sentiment_label`` (when a text is given),
``request.recent_digital_same_topic`` and ``tier`` (the value tier).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from partitur.core.durations import parse_duration
from partitur.core.rules import Rule

Target = Literal["specialist", "standard_agent", "bot", "self_service", "complaint_management"]
Urgency = Literal["low", "normal", "high", "critical"]
Tier = str


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- value tiers ----------------------------------------------------------------------------


class ValueFeature(_Doc):
    """One input of the value score: a trait path, normalised to 0..1 by ``cap``."""

    path: str = Field(min_length=1, description="e.g. computed.clv.value, traits: nps")
    weight: float
    cap: float = Field(gt=0, description="value at which the feature counts fully (1.0)")
    invert: bool = Field(default=False, description="high raw values count low (cost, risk)")
    default: float = 0.0


class TierThreshold(_Doc):
    name: str = Field(min_length=1, max_length=40)
    min_score: float = Field(ge=0, le=1)


class ServiceLevel(_Doc):
    queue: str
    response_time: str = Field(description="ISO 8601 duration, e.g. PT1H")
    callback: bool = False

    @field_validator("response_time")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class ValueModel(_Doc):
    """Weighted value score (0..1) -> tier -> service level."""

    currency: str = Field(
        default="EUR",
        pattern="^[A-Z]{3}$",
        description="currency of money caps (CLV, service cost): the reporting currency",
    )
    features: dict[str, ValueFeature]
    tiers: list[TierThreshold] = Field(min_length=1)
    service_levels: dict[str, ServiceLevel] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ValueModel:
        if not self.features:
            raise ValueError("a value model needs at least one feature")
        if sum(abs(f.weight) for f in self.features.values()) == 0:
            raise ValueError("at least one feature weight must be non-zero")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be unique")
        if min(t.min_score for t in self.tiers) != 0:
            raise ValueError("the lowest tier must start at min_score 0")
        unknown = set(self.service_levels) - set(names)
        if unknown:
            raise ValueError(f"service levels for unknown tiers: {sorted(unknown)}")
        return self


class ValueAssessment(BaseModel):
    profile_id: str
    score: float
    tier: str
    service_level: ServiceLevel | None = None
    contributions: dict[str, float] = Field(default_factory=dict)
    #: why this tier: each input's value and what it added, largest first
    reasons: list[str] = Field(default_factory=list)


# --- routing --------------------------------------------------------------------------------


class RoutingRule(_Doc):
    key: str = Field(min_length=1, max_length=100)
    when: Rule | None = Field(default=None, description="shared rule format; null = always")
    effect: Literal["route", "avoid"] = "route"
    target: Target | None = None
    avoid: list[Target] = Field(default_factory=list)
    priority: int = Field(default=3, ge=1, le=5, description="1 = most urgent")
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> RoutingRule:
        if self.effect == "route" and self.target is None:
            raise ValueError("a route rule needs a target")
        if self.effect == "avoid" and not self.avoid:
            raise ValueError("an avoid rule needs targets to avoid")
        return self


class RoutingPolicy(_Doc):
    """Ordered rules: ``avoid`` rules that match exclude targets; the first matching ``route``
    rule whose target is not excluded decides."""

    rules: list[RoutingRule]
    default_target: Target = "standard_agent"
    default_priority: int = Field(default=3, ge=1, le=5)
    #: events that count as a digital interaction, with the topic in ``topic_property``
    digital_events: list[str] = Field(
        default_factory=lambda: ["Chatbot Conversation", "Help Article Viewed", "App Session"]
    )
    topic_property: str = "topic"
    digital_lookback: str = "PT24H"

    @field_validator("digital_lookback")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _unique(self) -> RoutingPolicy:
        keys = [r.key for r in self.rules]
        if len(set(keys)) != len(keys):
            raise ValueError("rule keys must be unique")
        return self


class RouteRequest(_Doc):
    profile_id: str = Field(min_length=1)
    intent: str = Field(min_length=1, max_length=200)
    channel: str = Field(min_length=1, max_length=50)
    urgency: Urgency = "normal"
    escalated: bool = False
    text: str | None = Field(default=None, max_length=10_000)


class RouteDecision(BaseModel):
    target: Target
    priority: int
    tier: str | None
    reasons: list[str]
    rule: str | None = Field(description="key of the deciding rule; null = default")


# --- offers ---------------------------------------------------------------------------------


class OfferIn(_Doc):
    name: str = Field(min_length=1, max_length=300)
    placements: list[str] = Field(default_factory=list, description="empty = any placement")
    eligibility: Rule | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    priority: int = Field(default=0, ge=0, le=100, description="arbitration class; higher wins")
    cost: Decimal = Field(default=Decimal("0"), ge=0)
    margin: Decimal = Field(default=Decimal("0"), ge=0)
    propensity_score: str | None = Field(
        default=None, description="name under computed.scores used as propensity"
    )
    base_propensity: float = Field(default=0.1, ge=0, le=1)
    per_profile_cap: int | None = Field(default=None, ge=1)
    per_profile_window: str | None = Field(default="P30D")
    global_cap: int | None = Field(default=None, ge=1)
    active: bool = True

    @field_validator("per_profile_window")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _validity(self) -> OfferIn:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        for moment in (self.valid_from, self.valid_until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("validity times need a UTC offset")
        return self


class Offer(OfferIn):
    key: str
    created_at: datetime
    updated_at: datetime


class OfferSettings(_Doc):
    holdout_percent: float = Field(default=5.0, ge=0, le=100)
    #: subtracted from the score per impression of the same offer in ``fatigue_window``
    fatigue_per_impression: float = Field(default=0.5, ge=0)
    fatigue_window: str = "P14D"
    #: offers whose score falls to or below this are not shown
    min_score: float = 0.0

    @field_validator("fatigue_window")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class OfferRequest(_Doc):
    profile_id: str = Field(min_length=1)
    placement: str = Field(min_length=1, max_length=100)


class OfferDecision(BaseModel):
    """The next best offer for one profile and placement (``offer_key`` None: show nothing)."""

    offer_key: str | None
    score: float
    reasons: list[str]
    holdout: bool = False
    candidates: list[dict[str, Any]] = Field(default_factory=list)
