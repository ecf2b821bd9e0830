from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from partitur.segments.rules import (
    EventFact,
    ProfileFacts,
    evaluate,
    longest_window,
    parse_rule,
    referenced_events,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def views(days_ago: list[int], category: str = "mortgage") -> list[EventFact]:
    return [
        EventFact("Page Viewed", NOW - timedelta(days=d), {"category": category}) for d in days_ago
    ]


MORTGAGE_RESEARCH = {
    "event": "Page Viewed",
    "where": [{"property": "category", "op": "eq", "value": "mortgage"}],
    "within": "P7D",
    "count": {"op": "gte", "value": 3},
}


def test_event_count_within_window_counts_only_matching_recent_events() -> None:
    rule = parse_rule(MORTGAGE_RESEARCH)
    assert evaluate(rule, ProfileFacts(recent_events=views([0, 2, 6])), NOW)
    assert not evaluate(rule, ProfileFacts(recent_events=views([0, 2, 8])), NOW)
    assert not evaluate(rule, ProfileFacts(recent_events=views([0, 1, 2], "cards")), NOW)


def test_trait_comparisons_are_case_insensitive_and_type_safe() -> None:
    facts = ProfileFacts(traits={"country": "DE", "age": 41, "tags": ["vip"]})
    assert evaluate(parse_rule({"trait": "country", "value": "de"}), facts, NOW)
    assert evaluate(parse_rule({"trait": "age", "op": "gte", "value": 40}), facts, NOW)
    assert not evaluate(parse_rule({"trait": "age", "op": "gt", "value": "old"}), facts, NOW)
    assert evaluate(parse_rule({"trait": "tags", "op": "contains", "value": "VIP"}), facts, NOW)
    assert evaluate(parse_rule({"trait": "missing", "op": "not_exists"}), facts, NOW)


def test_boolean_combinators_scores_and_segments() -> None:
    rule = parse_rule(
        {
            "any": [
                {"score": "churn", "op": "gte", "value": 0.7},
                {"not": {"segment": "recent-buyers"}},
            ]
        }
    )
    risky = ProfileFacts(computed={"scores": {"churn": 0.9}}, segments=frozenset({"recent-buyers"}))
    loyal = ProfileFacts(computed={"scores": {"churn": 0.1}}, segments=frozenset({"recent-buyers"}))
    assert evaluate(rule, risky, NOW)
    assert not evaluate(rule, loyal, NOW)


def test_last_event_negated_means_no_such_event_in_the_window() -> None:
    no_order = parse_rule({"last_event": "Order Completed", "within": "P30D", "negate": True})
    old = ProfileFacts(recent_events=[EventFact("Order Completed", NOW - timedelta(days=40))])
    recent = ProfileFacts(recent_events=[EventFact("Order Completed", NOW - timedelta(days=3))])
    assert evaluate(no_order, old, NOW)
    assert not evaluate(no_order, recent, NOW)


def test_helpers_report_events_and_window() -> None:
    rule = parse_rule({"all": [MORTGAGE_RESEARCH, {"trait": "x", "op": "exists"}]})
    assert referenced_events(rule) == {"Page Viewed"}
    assert longest_window(rule) == timedelta(days=7)


@pytest.mark.parametrize(
    "document",
    [
        {"trait": "x", "op": "bogus"},
        {"unknown": 1},
        {"event": "A", "within": "seven days"},
        {"all": []},
    ],
)
def test_invalid_rules_are_refused(document: object) -> None:
    with pytest.raises(ValidationError):
        parse_rule(document)
