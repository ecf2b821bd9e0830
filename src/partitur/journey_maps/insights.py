"""Actionable insights: pain points and opportunities ranked by measured impact against effort.

impact   = affected customers x drop-off at their stage x value per customer x severity / 5
priority = impact / effort
The prioritisation matrix counts impact at or above the median of the map's insights as high
and effort above 3 (of 1..5) as high: quick wins (high impact, low effort), major projects
(high, high), fill-ins (low, low) and thankless tasks (low impact, high effort).
"""

from __future__ import annotations

from statistics import median
from typing import Literal

from partitur.core.errors import ValidationFailed
from partitur.journey_maps.contracts import (
    BeforeAfter,
    Insight,
    JourneyMapDocument,
    MapMeasurement,
    RankedInsight,
)

Kind = Literal["pain_point", "opportunity"]
Quadrant = Literal["quick_win", "major_project", "fill_in", "thankless"]


def quadrant(impact: float, effort: int, impact_split: float) -> Quadrant:
    high_impact = impact > 0 and impact >= impact_split
    high_effort = effort > 3
    if high_impact:
        return "major_project" if high_effort else "quick_win"
    return "thankless" if high_effort else "fill_in"


def rank_insights(
    document: JourneyMapDocument, measurement: MapMeasurement, *, value_per_customer: float
) -> list[RankedInsight]:
    """Every pain point and opportunity of the map, highest priority first."""
    stages = {s.stage: s for s in measurement.stages}
    touchpoints = {t.touchpoint: t for t in measurement.touchpoints}
    drafts: list[tuple[Kind, Insight, str, int, float, float]] = []
    for stage in document.stages:
        measured = stages.get(stage.key)
        drop_off = measured.drop_off if measured and measured.drop_off is not None else 0.0
        groups: tuple[tuple[Kind, list[Insight]], ...] = (
            ("pain_point", stage.pain_points),
            ("opportunity", stage.opportunities),
        )
        for kind, items in groups:
            for item in items:
                if item.touchpoint and item.touchpoint in touchpoints:
                    affected = touchpoints[item.touchpoint].customers
                else:
                    affected = measured.customers if measured else 0
                impact = affected * drop_off * value_per_customer * item.severity / 5
                drafts.append((kind, item, stage.key, affected, drop_off, impact))
    split = median([d[5] for d in drafts]) if drafts else 0.0
    ranked = [
        RankedInsight(
            id=item.id,
            kind=kind,
            title=item.title,
            stage=stage_key,
            touchpoint=item.touchpoint,
            severity=item.severity,
            effort=item.effort,
            status=item.status,
            affected_customers=affected,
            drop_off=round(drop_off, 6),
            value_per_customer=round(value_per_customer, 4),
            impact=round(impact, 4),
            priority=round(impact / item.effort, 4),
            quadrant=quadrant(impact, item.effort, split),
            linked_journey=item.linked_journey,
        )
        for kind, item, stage_key, affected, drop_off, impact in drafts
    ]
    return sorted(ranked, key=lambda r: (-r.priority, r.effort, r.id))


def before_after(
    insight: Insight, stage_key: str, before: MapMeasurement, after: MapMeasurement
) -> BeforeAfter:
    """The insight's stage conversion before and after the linked journey went live."""
    if insight.linked_at is None:
        raise ValidationFailed(f"{insight.id} has no linked_at date", field="linked_at")
    b = next(s for s in before.stages if s.stage == stage_key)
    a = next(s for s in after.stages if s.stage == stage_key)
    change = (
        a.conversion_to_next - b.conversion_to_next
        if a.conversion_to_next is not None and b.conversion_to_next is not None
        else None
    )
    return BeforeAfter(
        insight=insight.id,
        linked_journey=insight.linked_journey,
        linked_at=insight.linked_at,
        metric="conversion_to_next",
        before=b.conversion_to_next,
        after=a.conversion_to_next,
        change=change,
        before_customers=b.customers,
        after_customers=a.customers,
    )
