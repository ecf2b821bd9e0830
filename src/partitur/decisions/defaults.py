"""The policies a workspace starts with (edit them with PUT /api/decisions/policies/<kind>)."""

from __future__ import annotations

from typing import Any

DEFAULT_VALUE_MODEL: dict[str, Any] = {
    # money caps (clv, service_cost) are in this currency: the workspace's reporting currency
    "currency": "EUR",
    "features": {
        "clv": {"path": "computed.clv.value", "weight": 0.40, "cap": 600},
        "service_cost": {
            "path": "computed.service_cost",
            "weight": 0.10,
            "cap": 50,
            "invert": True,
            "default": 0,
        },
        "loyalty_potential": {
            "path": "computed.scores.loyalty",
            "weight": 0.15,
            "cap": 1,
            "default": 0,
        },
        "digital_affinity": {
            "path": "computed.scores.digital_affinity",
            "weight": 0.10,
            "cap": 1,
            "default": 0.5,
        },
        "influence": {"path": "computed.scores.influence", "weight": 0.10, "cap": 1, "default": 0},
        "churn_risk": {
            # a calibrated probability: 0.5 and above counts as fully at risk
            "path": "computed.scores.churn",
            "weight": 0.15,
            "cap": 0.5,
            "invert": True,
            "default": 0.5,
        },
    },
    "tiers": [
        {"name": "premium", "min_score": 0.6},
        {"name": "valuable", "min_score": 0.4},
        {"name": "standard", "min_score": 0.2},
        {"name": "low", "min_score": 0.0},
    ],
    "service_levels": {
        "premium": {"queue": "specialist", "response_time": "PT1H", "callback": True},
        "valuable": {"queue": "priority", "response_time": "PT4H", "callback": True},
        "standard": {"queue": "standard", "response_time": "P1D"},
        "low": {"queue": "self_service", "response_time": "P3D"},
    },
}

_HIGH = {"trait": "request.urgency", "op": "in", "value": ["high", "critical"]}


def _tier(name: str) -> dict[str, Any]:
    return {"trait": "tier", "op": "eq", "value": name}


DEFAULT_ROUTING_POLICY: dict[str, Any] = {
    "rules": [
        {
            "key": "skip-bot-after-digital-attempt",
            "effect": "avoid",
            "avoid": ["bot", "self_service"],
            "when": {"trait": "request.recent_digital_same_topic", "op": "eq", "value": True},
            "reason": "already tried a digital channel on this topic in the last 24 h",
        },
        {
            "key": "escalated-negative-feedback",
            "target": "complaint_management",
            "priority": 1,
            "when": {
                "all": [
                    {"trait": "request.escalated", "op": "eq", "value": True},
                    {
                        "any": [
                            {"trait": "request.sentiment_label", "op": "eq", "value": "negative"},
                            {"trait": "computed.sentiment.label", "op": "eq", "value": "negative"},
                        ]
                    },
                ]
            },
            "reason": "escalated negative feedback goes to complaint management",
        },
        {
            "key": "premium-urgent",
            "target": "specialist",
            "priority": 1,
            "when": {"all": [_tier("premium"), _HIGH]},
            "reason": "premium customer, urgent",
        },
        {
            "key": "premium",
            "target": "specialist",
            "priority": 2,
            "when": _tier("premium"),
            "reason": "premium customer",
        },
        {
            "key": "valuable-urgent",
            "target": "standard_agent",
            "priority": 2,
            "when": {"all": [_tier("valuable"), _HIGH]},
            "reason": "valuable customer, urgent",
        },
        {
            "key": "valuable",
            "target": "standard_agent",
            "priority": 3,
            "when": _tier("valuable"),
            "reason": "valuable customer",
        },
        {
            "key": "standard-urgent",
            "target": "standard_agent",
            "priority": 3,
            "when": {"all": [_tier("standard"), _HIGH]},
            "reason": "urgent request",
        },
        {
            "key": "standard",
            "target": "bot",
            "priority": 4,
            "when": _tier("standard"),
            "reason": "standard request: the bot answers first",
        },
        {
            "key": "low-routine",
            "target": "self_service",
            "priority": 5,
            "when": {
                "all": [
                    _tier("low"),
                    {"trait": "request.urgency", "op": "in", "value": ["low", "normal"]},
                ]
            },
            "reason": "routine request: self-service",
        },
        {
            "key": "low",
            "target": "bot",
            "priority": 4,
            "when": _tier("low"),
            "reason": "low-value urgent request: the bot triages",
        },
    ],
    "default_target": "standard_agent",
    "default_priority": 3,
}

DEFAULT_OFFER_SETTINGS: dict[str, Any] = {
    "holdout_percent": 5.0,
    "fatigue_per_impression": 0.5,
    "fatigue_window": "P14D",
    "min_score": 0.0,
}
