"""One satisfaction scale, and a journey score computed per journey from its own data.

**Satisfaction** is the *top-2-box* share on every scale — the share of answers in the two best
categories of the scale as asked, 0..100 %:

* CSAT 1-5: 4 or 5 ("satisfied", "very satisfied": the top-2-box CSAT of the ACSI tradition);
* stars 1-5: 4 or 5 stars;
* NPS 0-10: 9 or 10 (the promoters of Reichheld, "The One Number You Need to Grow", 2003);
* CES 1-7 ("the company made it easy to ..."; Dixon, Freeman and Toman 2010, CES 2.0): 6 or 7
  ("agree", "strongly agree"; Gartner's own reports also quote 5-7).

The same rule on every scale makes shares comparable: an NPS 8 is no more "satisfied" than a
CSAT 3. ``normalise`` still gives an answer's position on its scale (0..100, linear) for
charts; it is not a satisfaction share (an NPS 8 sits at 80, a CSAT 4 at 75). NPS keeps its own
figure: % promoters - % detractors (0-6).

**Journey score** (0..100, higher is better) of one journey, from its instances and what their
profiles did from entry until 7 days after the instance ended, as a weighted mean of:

* ``conversion`` (weight 0.4): the conversion rate against the goal's ``target_rate``
  (100 at or above the target); without a target or a goal it is not measured;
* ``satisfaction`` (0.3): the top-2-box share of the survey answers (``SurveySource``s);
* ``effort`` (0.15): the share of instances whose customer needed no support contact after
  entry (``support_events``, e.g. "Ticket Created");
* ``sentiment`` (0.15): the share of the customers' texts (tickets, survey comments, reviews)
  that are not negative.

A component needs ``MIN_OBSERVATIONS`` observations to count. The score is the weighted mean of
the components measured; ``coverage`` says how much of the weight that is (1.0: everything
measured), and each missing component says why — the weights are never silently shifted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from partitur.analytics.contracts import (
    JourneyScore,
    Scale,
    ScoreComponent,
    ScoreSummary,
    SurveySource,
)
from partitur.analytics.engine import AnalyticsEngine, naive_utc
from partitur.analytics.filters import event_match_sql, json_path, sql_literal
from partitur.core.errors import ValidationFailed

#: scale -> (lowest, highest answer)
SCALES: dict[str, tuple[int, int]] = {
    "csat": (1, 5),
    "stars": (1, 5),
    "nps": (0, 10),
    "ces": (1, 7),
}
#: the lowest answer of each scale's top two boxes
TOP_BOX: dict[str, int] = {scale: high - 1 for scale, (_, high) in SCALES.items()}

#: The journey score's weights (see the module docstring).
WEIGHTS: dict[str, float] = {
    "conversion": 0.4,
    "satisfaction": 0.3,
    "effort": 0.15,
    "sentiment": 0.15,
}
#: observations a component needs to count
MIN_OBSERVATIONS = 10
#: survey answers and texts this long after an instance ended still count for it
AFTERMATH = timedelta(days=7)
#: at most this many texts per journey go to sentiment scoring (the most recent ones)
TEXT_SAMPLE = 500

DEFINITIONS = {
    "conversion": "conversion rate against the goal's target rate (100 at or above it)",
    "satisfaction": "top-2-box share of survey answers (CSAT 4-5, stars 4-5, NPS 9-10, CES 6-7)",
    "effort": "share of instances whose customer needed no support contact after entry",
    "sentiment": "share of the customers' texts that are not negative",
}


def _check_scale(scale: str) -> tuple[int, int]:
    if scale not in SCALES:
        raise ValidationFailed(f"unknown scale {scale!r}", field="scale")
    return SCALES[scale]


def _answers(scale: str, responses: Sequence[float] | np.ndarray) -> np.ndarray:
    low, high = _check_scale(scale)
    values = np.asarray(responses, dtype=float)
    if values.size and (np.isnan(values).any() or values.min() < low or values.max() > high):
        raise ValidationFailed(
            f"{scale} responses must be between {low} and {high}", field="responses"
        )
    return values


def normalise(scale: Scale, response: float) -> float:
    """An answer's position on its scale, 0..100 (linear; not a satisfaction share). Raises
    ``ValidationFailed`` outside the scale."""
    low, high = _check_scale(scale)
    value = float(_answers(scale, [response])[0])
    return (value - low) / (high - low) * 100.0


def satisfied(scale: Scale, responses: Sequence[float] | np.ndarray) -> np.ndarray:
    """Whether each answer is in its scale's top two boxes."""
    return _answers(scale, responses) >= TOP_BOX[scale]


def summarise(scale: Scale, responses: Sequence[float]) -> ScoreSummary:
    """Satisfaction (top-2-box share, also as ``score`` 0..100), the mean answer and its
    position on the scale, and for NPS the three groups and the NPS."""
    values = _answers(scale, responses)
    n = int(values.size)
    low, high = SCALES[scale]
    share = float((values >= TOP_BOX[scale]).mean()) if n else None
    summary = ScoreSummary(
        scale=scale,
        responses=n,
        mean_raw=float(values.mean()) if n else None,
        score=share * 100.0 if share is not None else None,
        satisfied_share=share,
        mean_position=float((values.mean() - low) / (high - low) * 100.0) if n else None,
    )
    if scale == "nps":
        promoters = int((values >= 9).sum())
        detractors = int((values <= 6).sum())
        summary.promoters = promoters
        summary.detractors = detractors
        summary.passives = n - promoters - detractors
        summary.nps = (promoters - detractors) / n * 100.0 if n else None
    return summary


def satisfaction_sql(scale: Scale, value: str) -> str:
    """SQL giving 100 for an answer ``value`` (a DOUBLE expression) in the scale's top two
    boxes, 0 for another answer on the scale, NULL for anything else: its mean is the
    top-2-box share on 0..100."""
    low, high = _check_scale(scale)
    return (
        f"CASE WHEN ({value}) BETWEEN {low} AND {high} "
        f"THEN CASE WHEN ({value}) >= {TOP_BOX[scale]} THEN 100.0 ELSE 0.0 END END"
    )


# --- the journey score --------------------------------------------------------------------------


def combine(
    values: Mapping[str, tuple[float | None, int, str | None]],
    weights: Mapping[str, float] | None = None,
) -> JourneyScore:
    """The journey score from components ``name -> (value 0..100 or None, observations, why
    not measured)``: the weighted mean of those with a value and ``MIN_OBSERVATIONS``, the
    coverage (their share of the weight) and every component with its weight and status."""
    weights = dict(weights or WEIGHTS)
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValidationFailed("weights must be positive", field="weights")
    total = sum(weights.values())
    components = []
    for name, weight in weights.items():
        value, n, note = values.get(name, (None, 0, "not computed"))
        measured = value is not None and n >= MIN_OBSERVATIONS
        if value is not None and not measured:
            note = f"{n} observations, {MIN_OBSERVATIONS} needed"
        components.append(
            ScoreComponent(
                name=name,
                value=value,
                weight=weight / total,
                observations=n,
                measured=measured,
                definition=DEFINITIONS.get(name, ""),
                note=None if measured else note,
            )
        )
    counted = [c for c in components if c.measured and c.value is not None]
    coverage = sum(c.weight for c in counted)
    score = sum(c.weight * (c.value or 0.0) for c in counted) / coverage if coverage else None
    return JourneyScore(score=score, coverage=coverage, components=components)


def journey_score(
    engine: AnalyticsEngine,
    *,
    journey_id: str,
    where: str,
    params: dict[str, Any],
    target_rate: float | None,
    has_goal: bool,
    surveys: Sequence[SurveySource],
    support_events: Sequence[str],
    text_properties: Sequence[str],
    negative: Callable[[list[str]], list[bool]],
    now: datetime,
    weights: Mapping[str, float] | None = None,
) -> JourneyScore:
    """The journey score of the instances ``where`` selects (``kpis``' instance filter and
    its ``params``), from the store. ``negative(texts)`` says which texts are negative."""
    engine.require("journey_instances")
    args = {**params, "now": naive_utc(now, "now"), "after": int(AFTERMATH.total_seconds())}
    instances = f"""inst AS (
        SELECT id, profile_id, entered_at, converted_at, status,
               coalesce(ended_at, $now) + to_seconds($after::BIGINT) AS until
        FROM journey_instances WHERE {where})"""
    row = engine.query(
        f"""WITH {instances}
            SELECT count(*),
                   count(*) FILTER (WHERE status = 'converted' OR converted_at IS NOT NULL)
            FROM inst""",
        args,
    ).fetchone()
    assert row is not None
    entered, converted = int(row[0]), int(row[1])
    values: dict[str, tuple[float | None, int, str | None]] = {}
    if not has_goal:
        values["conversion"] = (None, entered, "the journey has no goal")
    elif target_rate is None:
        values["conversion"] = (None, entered, "the goal has no target_rate")
    else:
        rate = converted / entered if entered else 0.0
        values["conversion"] = (min(1.0, rate / target_rate) * 100.0, entered, None)
    has_events = "events" in engine.available
    window = (
        'e.profile_id = i.profile_id AND e."timestamp" >= i.entered_at AND e."timestamp" <= i.until'
    )
    if surveys and has_events:

        def answer(source: SurveySource) -> str:
            raw = f"json_extract_string(e.properties, {json_path(source.property)})"
            value = satisfaction_sql(source.scale, f"TRY_CAST({raw} AS DOUBLE)")
            return f"""SELECT {value} AS s FROM inst i JOIN events e ON {window}
                       WHERE {event_match_sql(source.event, source.where)}"""

        answers = " UNION ALL ".join(answer(s) for s in surveys)
        row = engine.query(
            f"WITH {instances} SELECT avg(s), count(s) FROM ({answers})", args
        ).fetchone()
        assert row is not None
        values["satisfaction"] = (
            float(row[0]) if row[0] is not None else None,
            int(row[1]),
            None if row[1] else "no survey answers",
        )
    else:
        values["satisfaction"] = (None, 0, "no survey sources" if has_events else "no events")
    if support_events and has_events:
        names = ", ".join(sql_literal(n) for n in support_events)
        row = engine.query(
            f"""WITH {instances}
                SELECT count(*) FILTER (WHERE NOT EXISTS (
                    SELECT 1 FROM events e WHERE e.profile_id = i.profile_id
                      AND e.event IN ({names}) AND e."timestamp" > i.entered_at
                      AND e."timestamp" <= i.until)),
                       count(*)
                FROM inst i""",
            args,
        ).fetchone()
        assert row is not None
        values["effort"] = (
            float(row[0]) / int(row[1]) * 100.0 if row[1] else None,
            int(row[1]),
            None if row[1] else "no instances",
        )
    else:
        values["effort"] = (None, 0, "no support events" if has_events else "no events")
    if text_properties and has_events:
        extracted = ", ".join(
            f"json_extract_string(e.properties, {json_path(p)})" for p in text_properties
        )
        rows = engine.query(
            f"""WITH {instances},
                texts AS (SELECT unnest([{extracted}]) AS body, e."timestamp" AS t
                          FROM inst i JOIN events e ON {window})
                SELECT body FROM texts WHERE length(trim(coalesce(body, ''))) > 0
                ORDER BY t DESC LIMIT {TEXT_SAMPLE}""",
            args,
        ).fetchall()
        bodies = [str(r[0]) for r in rows]
        if bodies:
            bad = np.asarray(negative(bodies), dtype=bool)
            values["sentiment"] = (float((~bad).mean()) * 100.0, len(bodies), None)
        else:
            values["sentiment"] = (None, 0, "no texts from the customers")
    else:
        values["sentiment"] = (None, 0, "no text properties" if has_events else "no events")
    result = combine(values, weights)
    result.journey_id = journey_id
    return result
