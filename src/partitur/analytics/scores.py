"""Satisfaction scores on one 0-100 scale, and a journey score from weighted KPIs.

Each response is mapped linearly onto 0..100 from its scale's range:

* CSAT 1-5 and stars 1-5: ``(r - 1) / 4 * 100`` (satisfied share: responses 4 or 5);
* NPS 0-10: ``r * 10``; promoters 9-10, passives 7-8, detractors 0-6,
  NPS = % promoters - % detractors (-100..100);
* CES 1-7 ("it was easy to ..." agreement; 7 = least effort): ``(r - 1) / 6 * 100``
  (satisfied share: 5-7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from partitur.analytics.contracts import JourneyScore, Scale, ScoreSummary
from partitur.core.errors import ValidationFailed

#: scale -> (lowest, highest, lowest "satisfied" answer)
SCALES: dict[str, tuple[int, int, int]] = {
    "csat": (1, 5, 4),
    "stars": (1, 5, 4),
    "nps": (0, 10, 9),
    "ces": (1, 7, 5),
}


def normalise(scale: Scale, response: float) -> float:
    """One response on the 0..100 scale; raises ``ValidationFailed`` outside the scale."""
    return float(normalise_many(scale, [response])[0])


def normalise_many(scale: Scale, responses: Sequence[float] | np.ndarray) -> np.ndarray:
    if scale not in SCALES:
        raise ValidationFailed(f"unknown scale {scale!r}", field="scale")
    low, high, _ = SCALES[scale]
    values = np.asarray(responses, dtype=float)
    if values.size and (np.isnan(values).any() or values.min() < low or values.max() > high):
        raise ValidationFailed(
            f"{scale} responses must be between {low} and {high}", field="responses"
        )
    return (values - low) / (high - low) * 100.0


def summarise(scale: Scale, responses: Sequence[float]) -> ScoreSummary:
    """Mean normalised score, share satisfied, and for NPS the three groups and the NPS."""
    values = np.asarray(responses, dtype=float)
    scores = normalise_many(scale, values)
    n = int(values.size)
    summary = ScoreSummary(
        scale=scale,
        responses=n,
        mean_raw=float(values.mean()) if n else None,
        score=float(scores.mean()) if n else None,
        satisfied_share=float((values >= SCALES[scale][2]).mean()) if n else None,
    )
    if scale == "nps":
        promoters = int((values >= 9).sum())
        detractors = int((values <= 6).sum())
        summary.promoters = promoters
        summary.detractors = detractors
        summary.passives = n - promoters - detractors
        summary.nps = (promoters - detractors) / n * 100.0 if n else None
    return summary


#: the default journey score: conversion (0..1), satisfaction (0..100), effort (contacts per
#: customer, lower is better, 0 contacts = 100 and ``effort_ceiling`` or more = 0)
DEFAULT_WEIGHTS = {"conversion": 0.5, "satisfaction": 0.3, "effort": 0.2}


def journey_score(
    components: Mapping[str, float | None],
    weights: Mapping[str, float] | None = None,
    *,
    effort_ceiling: float = 10.0,
) -> JourneyScore:
    """Combine KPIs into one 0..100 score: a weighted mean of the components given.

    ``conversion`` is a rate 0..1 (scaled to 0..100), ``satisfaction`` already 0..100,
    ``effort`` contacts per customer (mapped to ``100 * (1 - effort / effort_ceiling)``,
    floored at 0); any other component must already be 0..100. Components that are ``None``
    are left out and the remaining weights renormalised.
    """
    weights = dict(weights or DEFAULT_WEIGHTS)
    if any(w < 0 for w in weights.values()):
        raise ValidationFailed("weights cannot be negative", field="weights")
    scaled: dict[str, float] = {}
    for name, raw in components.items():
        if raw is None or name not in weights:
            continue
        if name == "conversion":
            value = raw * 100.0
        elif name == "effort":
            value = max(0.0, 100.0 * (1.0 - raw / effort_ceiling))
        else:
            value = raw
        if not 0.0 <= value <= 100.0:
            raise ValidationFailed(f"{name} is outside 0..100 after scaling", field=name)
        scaled[name] = value
    total = sum(weights[k] for k in scaled)
    if total <= 0:
        raise ValidationFailed("no weighted component has a value", field="components")
    score = sum(scaled[k] * weights[k] for k in scaled) / total
    return JourneyScore(
        score=score, components=scaled, weights={k: weights[k] / total for k in scaled}
    )
