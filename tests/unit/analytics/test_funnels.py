"""Funnels over a small hand-made event log (DuckDB in memory)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from partitur.analytics.contracts import FunnelSpec
from partitur.analytics.engine import AnalyticsEngine, frame_engine
from partitur.analytics.funnels import funnel
from partitur.core.errors import NotFound, ValidationFailed

T0 = pd.Timestamp("2026-01-05 09:00")

LOG = [
    # actor, event, minute, properties
    ("a", "View", 0, {"plan": "pro"}),
    ("a", "Cart", 5, {"items": 3}),
    ("a", "Buy", 10, {"total": 50}),
    ("b", "View", 0, {"plan": "free"}),
    ("b", "Other", 1, {}),
    ("b", "Cart", 2, {"items": 1}),
    ("c", "View", 0, {"plan": "pro"}),
    ("c", "Buy", 3, {"total": 5}),
    ("c", "Cart", 4, {"items": 2}),
    ("d", "Cart", 0, {}),  # never viewed: not in the funnel
    ("e", "View", 0, {"plan": "pro"}),
    ("e", "Cart", 60 * 24 * 2, {"items": 1}),  # two days later
]


def make_engine() -> AnalyticsEngine:
    df = pd.DataFrame(
        [
            {
                "profile_id": a,
                "user_id": None,
                "anonymous_id": None,
                "event": e,
                "timestamp": T0 + pd.Timedelta(minutes=m),
                "properties": json.dumps(p),
            }
            for a, e, m, p in LOG
        ]
    )
    engine = frame_engine(raw=df)
    engine.query("CREATE VIEW events AS SELECT * REPLACE (properties::JSON AS properties) FROM raw")
    engine.available.add("events")
    return engine


def spec(**kw: object) -> FunnelSpec:
    steps = kw.pop("steps", [{"event": "View"}, {"event": "Cart"}, {"event": "Buy"}])
    return FunnelSpec.model_validate({"steps": steps, **kw})


def counts(result) -> list[int]:
    return [s.count for s in result.steps]


def test_relaxed_order_allows_other_events_between_steps() -> None:
    result = funnel(make_engine(), spec())
    # a: all three; b: View, Cart; c: Buy came before Cart; e: Cart two days later (in window)
    assert counts(result) == [4, 4, 1]
    assert [s.conversion_from_start for s in result.steps] == [1.0, 1.0, 0.25]
    # View -> Cart: a 5 min, b 2 min, c 4 min, e 2 days
    assert result.steps[1].median_seconds_from_previous == pytest.approx((240 + 300) / 2)
    assert result.steps[1].avg_seconds_from_previous == pytest.approx(
        (300 + 120 + 240 + 172800) / 4
    )
    assert result.steps[2].median_seconds_from_previous == 300


def test_window_counts_from_the_first_step() -> None:
    result = funnel(make_engine(), spec(window_seconds=3600))
    assert counts(result) == [4, 3, 1]


def test_strict_order_needs_consecutive_events() -> None:
    result = funnel(make_engine(), spec(order="strict"))
    # a: consecutive; b: Other in between; c: Buy before Cart; e: Cart next (within 7 days)
    assert counts(result) == [4, 2, 1]
    assert result.steps[2].conversion_from_previous == 0.5


def test_conditions_on_properties_filter_steps() -> None:
    steps = [
        {"event": "View", "where": [{"property": "plan", "op": "eq", "value": "pro"}]},
        {"event": "Cart", "where": [{"property": "items", "op": "gte", "value": 2}]},
    ]
    result = funnel(make_engine(), spec(steps=steps))
    assert counts(result) == [3, 2]  # a, c, e viewed pro; a (3 items), c (2 items)


def test_breakdown_by_a_property_of_the_entry_event() -> None:
    result = funnel(make_engine(), spec(breakdown="plan"))
    groups = {g.value: [s.count for s in g.steps] for g in result.groups}
    assert groups == {"pro": [3, 3, 1], "free": [1, 1, 0]}


def test_time_range_limits_events_considered() -> None:
    end = datetime(2026, 1, 6, tzinfo=UTC)
    result = funnel(make_engine(), spec(end=end))
    assert counts(result) == [4, 3, 1]


def test_bad_property_name_is_refused_with_its_field() -> None:
    bad = [
        {"event": "View", "where": [{"property": 'x"; DROP', "op": "eq", "value": 1}]},
        {"event": "Cart"},
    ]
    with pytest.raises(ValidationFailed) as caught:
        funnel(make_engine(), spec(steps=bad))
    assert caught.value.field == "steps.0.where.0.property"


def test_without_an_event_log_the_funnel_is_not_found() -> None:
    with pytest.raises(NotFound):
        funnel(AnalyticsEngine(None, "ws"), spec())
