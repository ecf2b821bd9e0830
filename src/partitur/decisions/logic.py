"""Pure decision logic: value scoring, routing and offer ranking. No I/O, no clock."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from partitur.core.rules import Facts, evaluate, lookup
from partitur.decisions.contracts import (
    Offer,
    OfferSettings,
    RouteDecision,
    RoutingPolicy,
    ValueModel,
)


def _read(path: str, traits: Mapping[str, Any], computed: Mapping[str, Any]) -> Any:
    if path.startswith("computed."):
        return lookup(dict(computed), path[len("computed.") :])
    if path.startswith("traits."):
        return lookup(dict(traits), path[len("traits.") :])
    return lookup(dict(traits), path)


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool) or value is None:
        return default
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if np.isfinite(out) else default


def assess_value(
    model: ValueModel, traits: Mapping[str, Any], computed: Mapping[str, Any]
) -> tuple[float, str, dict[str, float]]:
    """(score 0..1, tier, weighted contribution per feature) for one profile."""
    names = list(model.features)
    raw = np.array(
        [[_number(_read(f.path, traits, computed), f.default) for f in model.features.values()]]
    )
    scores, contributions = score_matrix(model, raw)
    tier = tier_of(model, float(scores[0]))
    return (
        float(scores[0]),
        tier,
        {n: round(float(c), 4) for n, c in zip(names, contributions[0], strict=True)},
    )


def raw_inputs(
    model: ValueModel, traits: Mapping[str, Any], computed: Mapping[str, Any]
) -> NDArray[np.float64]:
    """The model's inputs of one profile (defaults where missing), in the model's order."""
    return np.array(
        [_number(_read(f.path, traits, computed), f.default) for f in model.features.values()]
    )


def score_matrix(
    model: ValueModel, raw: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Vectorised value score: ``raw`` has one row per profile, one column per feature (in
    the model's order). Each feature is clipped to [0, cap] / cap (inverted when asked); the
    score is the weighted sum over the sum of absolute weights, clipped to 0..1."""
    features = list(model.features.values())
    caps = np.array([f.cap for f in features])
    weights = np.array([f.weight for f in features])
    invert = np.array([f.invert for f in features])
    normalised = np.clip(raw, 0.0, caps) / caps
    normalised = np.where(invert, 1.0 - normalised, normalised)
    contributions = normalised * weights / np.abs(weights).sum()
    scores = np.clip(contributions.sum(axis=1), 0.0, 1.0)
    return scores, contributions


def value_reasons(
    model: ValueModel, raw: NDArray[np.float64], contributions: NDArray[np.float64]
) -> list[str]:
    """Readable reasons for one profile's score: each input's value (money in the model's
    currency) and the points it added out of its weight, the largest contribution first."""
    total = float(np.abs([f.weight for f in model.features.values()]).sum()) or 1.0
    parts = []
    for (name, feature), value, added in zip(
        model.features.items(), raw.tolist(), contributions.tolist(), strict=True
    ):
        shown = (
            f"{value:,.0f} {model.currency}"
            if name in ("clv", "service_cost") or feature.cap > 1
            else f"{value:.2f}"
        )
        inverted = ", lower is better" if feature.invert else ""
        parts.append(
            (
                added,
                f"{name} {shown} (cap {feature.cap:g}{inverted}): "
                f"{added:+.3f} of {feature.weight / total:.3f}",
            )
        )
    return [text for _, text in sorted(parts, key=lambda p: -p[0])]


def tier_of(model: ValueModel, score: float) -> str:
    for tier in sorted(model.tiers, key=lambda t: -t.min_score):
        if score >= tier.min_score:
            return tier.name
    return model.tiers[-1].name


def tiers_of(model: ValueModel, scores: NDArray[np.float64]) -> NDArray[np.str_]:
    ordered = sorted(model.tiers, key=lambda t: t.min_score)
    thresholds = np.array([t.min_score for t in ordered])
    index = np.searchsorted(thresholds, scores, side="right") - 1
    names = np.array([t.name for t in ordered])
    out: NDArray[np.str_] = names[np.clip(index, 0, len(ordered) - 1)]
    return out


def route(policy: RoutingPolicy, facts: Facts, now: datetime, tier: str | None) -> RouteDecision:
    """Apply the routing policy (see ``RoutingPolicy``)."""
    avoided: dict[str, str] = {}
    reasons: list[str] = []
    for rule in policy.rules:
        if rule.when is not None and not evaluate(rule.when, facts, now):
            continue
        if rule.effect == "avoid":
            for target in rule.avoid:
                avoided.setdefault(target, rule.reason)
            continue
        assert rule.target is not None
        if rule.target in avoided:
            reasons.append(f"{rule.target} skipped: {avoided[rule.target]}")
            continue
        reasons.append(rule.reason)
        return RouteDecision(
            target=rule.target, priority=rule.priority, tier=tier, reasons=reasons, rule=rule.key
        )
    target = policy.default_target
    if target in avoided:
        reasons.append(f"{target} skipped: {avoided[target]}")
        target = "standard_agent"
    reasons.append("no rule matched: default route")
    return RouteDecision(
        target=target, priority=policy.default_priority, tier=tier, reasons=reasons, rule=None
    )


def in_holdout(workspace_id: str, profile_id: str, percent: float) -> bool:
    """A stable, uniform split: the same profile is always in (or out of) the holdout."""
    if percent <= 0:
        return False
    digest = hashlib.blake2b(f"{workspace_id}:{profile_id}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % 10_000) < percent * 100


@dataclass(frozen=True)
class Candidate:
    offer: Offer
    propensity: float
    value: float
    fatigue: float

    @property
    def score(self) -> float:
        return self.propensity * self.value - self.fatigue


def candidate(
    offer: Offer, computed: Mapping[str, Any], recent_impressions: int, settings: OfferSettings
) -> Candidate:
    """Propensity (a model score or the offer's base rate) x value (margin - cost) minus
    fatigue (a penalty per recent impression of the same offer)."""
    propensity = offer.base_propensity
    if offer.propensity_score:
        scores = computed.get("scores") or {}
        propensity = _number(scores.get(offer.propensity_score), offer.base_propensity)
        propensity = min(max(propensity, 0.0), 1.0)
    value = float(offer.margin - offer.cost)
    fatigue = settings.fatigue_per_impression * recent_impressions
    return Candidate(offer=offer, propensity=propensity, value=value, fatigue=fatigue)


def arbitrate(candidates: list[Candidate], settings: OfferSettings) -> list[Candidate]:
    """Rank: the highest priority class first, then the score, then the key (stable);
    candidates at or below ``min_score`` are dropped."""
    kept = [c for c in candidates if c.score > settings.min_score]
    return sorted(kept, key=lambda c: (-c.offer.priority, -c.score, c.offer.key))
