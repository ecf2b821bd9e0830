from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from partitur.core.rules import (
    EventFact,
    ProfileFacts,
    compare,
    evaluate,
    event_leaves,
    longest_window,
    next_change_at,
    parse_rule,
    referenced_events,
    referenced_traits,
)

OPS = {"eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "not_contains",
       "starts_with", "ends_with", "exists", "not_exists", "matches"}  # fmt: skip

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


# --- semantics the SQL compiler reproduces ---------------------------------------------------


def test_types_are_strict_numbers_never_match_strings_and_booleans_are_not_numbers() -> None:
    facts = ProfileFacts(traits={"age": "41", "vip": True, "score": 1})
    assert not evaluate(parse_rule({"trait": "age", "op": "gte", "value": 40}), facts, NOW)
    assert not evaluate(parse_rule({"trait": "age", "value": 41}), facts, NOW)
    assert not evaluate(parse_rule({"trait": "vip", "value": 1}), facts, NOW)
    assert not evaluate(parse_rule({"trait": "score", "value": True}), facts, NOW)
    assert evaluate(parse_rule({"trait": "score", "value": 1.0}), facts, NOW)
    assert evaluate(parse_rule({"trait": "vip", "value": True}), facts, NOW)


def test_strings_order_by_code_point_so_iso_dates_compare_naturally() -> None:
    facts = ProfileFacts(traits={"contract_end": "2026-04-30"})
    assert evaluate(
        parse_rule({"trait": "contract_end", "op": "lt", "value": "2026-05-01"}), facts, NOW
    )
    assert not evaluate(parse_rule({"trait": "contract_end", "op": "gt", "value": 5}), facts, NOW)


def test_missing_and_null_values_fail_every_test_except_the_negative_ones() -> None:
    facts = ProfileFacts(traits={"nothing": None, "tags": [None, "a"]})
    for op in ("eq", "gt", "contains", "starts_with", "in"):
        value = [None] if op == "in" else None
        assert not evaluate(parse_rule({"trait": "nothing", "op": op, "value": value}), facts, NOW)
    for op in ("ne", "not_contains", "not_exists"):
        assert evaluate(parse_rule({"trait": "nothing", "op": op, "value": "x"}), facts, NOW)
    assert evaluate(parse_rule({"trait": "nothing", "op": "not_in", "value": ["x"]}), facts, NOW)
    # null equals nothing, not even a null inside a list
    assert not evaluate(parse_rule({"trait": "tags", "op": "contains", "value": None}), facts, NOW)
    assert evaluate(parse_rule({"trait": "tags", "op": "contains", "value": "A"}), facts, NOW)


def test_paths_follow_objects_only_and_computed_traits_and_scores_are_reachable() -> None:
    facts = ProfileFacts(
        traits={"address": {"city": "Köln"}, "list": [{"x": 1}]},
        computed={"orders": 3, "scores": {"churn": 0.8}},
    )
    assert evaluate(parse_rule({"trait": "address.city", "value": "KÖLN"}), facts, NOW)
    assert evaluate(parse_rule({"trait": "list.0.x", "op": "not_exists"}), facts, NOW)
    assert evaluate(parse_rule({"trait": "computed.orders", "op": "gt", "value": 2}), facts, NOW)
    assert evaluate(parse_rule({"score": "churn", "op": "gte", "value": 0.8}), facts, NOW)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"trait": "plan", "op": "in", "value": "pro"}, "must be a list"),
        ({"trait": "email", "op": "matches", "value": "(unclosed"}, "regular expression"),
        ({"trait": "email", "op": "matches", "value": 3}, "regular expression"),
    ],
)
def test_values_must_fit_their_operator(document: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_rule(document)


def test_next_change_is_when_the_oldest_event_in_a_window_ages_out() -> None:
    rule = parse_rule(MORTGAGE_RESEARCH)
    facts = ProfileFacts(recent_events=views([1, 2, 6]))
    assert next_change_at(rule, facts, NOW) == NOW + timedelta(days=1, microseconds=1)
    # a window includes its start: exactly 7 days old still counts
    assert evaluate(rule, facts, NOW + timedelta(days=1))
    assert not evaluate(rule, facts, NOW + timedelta(days=1, microseconds=1))


def test_next_change_covers_future_stamped_events_and_is_none_without_windows() -> None:
    ever = parse_rule({"event": "Order Completed"})
    future = ProfileFacts(recent_events=[EventFact("Order Completed", NOW + timedelta(hours=2))])
    assert next_change_at(ever, future, NOW) == NOW + timedelta(hours=2)
    assert not evaluate(ever, future, NOW)
    assert next_change_at(parse_rule({"trait": "x", "op": "exists"}), ProfileFacts(), NOW) is None


def test_referenced_traits_and_event_leaves() -> None:
    rule = parse_rule({"all": [MORTGAGE_RESEARCH, {"trait": "plan"}, {"not": {"score": "churn"}}]})
    assert referenced_traits(rule) == {"plan", "computed.scores.churn"}
    assert [leaf.within for leaf in event_leaves(rule)] == ["P7D"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


@given(actual=json_values, expected=json_values, op=st.sampled_from(sorted(OPS)))
def test_compare_never_raises_and_negations_are_complements(
    actual: object, expected: object, op: str
) -> None:
    result = compare(actual, op, expected)
    assert isinstance(result, bool)
    negation = {"eq": "ne", "in": "not_in", "contains": "not_contains", "exists": "not_exists"}
    if op in negation:
        assert compare(actual, negation[op], expected) is (not result)
