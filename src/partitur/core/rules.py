"""The rule format shared by segments, journey branches, goals, exits, offers and routing.

A rule is a JSON/YAML document, validated into the models below and evaluated by
``evaluate(rule, facts, now)`` — a pure function, no I/O, no ``eval``. Examples::

    {"all": [
        {"trait": "country", "op": "eq", "value": "DE"},
        {"any": [{"score": "churn", "op": "gte", "value": 0.7},
                 {"not": {"segment": "recent-buyers"}}]},
        {"event": "Page Viewed", "where": [{"property": "category", "op": "eq",
                                             "value": "mortgage"}],
         "within": "P7D", "count": {"op": "gte", "value": 3}},
        {"last_event": "Order Completed", "within": "P30D", "negate": true}
    ]}

Leaves:
- ``trait``: a profile trait by dotted path (``address.city``); ``computed.<name>`` reads a
  computed trait (``computed.revenue``).
- ``event``: how many events of a name (optionally with property filters) happened within a
  window, compared with ``count`` (default ``{"op": "gte", "value": 1}``).
- ``last_event``: whether the most recent such event lies within the window (``negate`` for
  "not within", e.g. "no order in 30 days").
- ``segment``: membership in a segment by key.
- ``score``: a model score (``computed.scores.<name>``) against a threshold.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from partitur.core import safe_regex
from partitur.core.durations import parse_duration

Op = Literal[
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "exists",
    "not_exists",
    "matches",
]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(_Rule):
    """``{"op": "gte", "value": 3}``"""

    op: Op = "eq"
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Comparison:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"value must be a list for '{self.op}'")
        if self.op == "matches":
            if not isinstance(self.value, str):
                raise ValueError("value must be a regular expression string for 'matches'")
            try:
                safe_regex.compile_pattern(self.value)
            except safe_regex.UnsafePattern as exc:
                raise ValueError(f"value is refused as a regular expression: {exc}") from None
        return self


class PropertyFilter(Comparison):
    property: str = Field(min_length=1)


class TraitRule(Comparison):
    trait: str = Field(min_length=1)


class ScoreRule(Comparison):
    score: str = Field(min_length=1)


class EventCountRule(_Rule):
    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)
    within: str | None = Field(default=None, description="ISO 8601 duration, e.g. P7D")
    count: Comparison = Field(default_factory=lambda: Comparison(op="gte", value=1))

    @field_validator("within")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class LastEventRule(_Rule):
    last_event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)
    within: str
    negate: bool = False

    @field_validator("within")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class SegmentRule(_Rule):
    segment: str = Field(min_length=1)


class AllRule(_Rule):
    all: list[Rule] = Field(min_length=1)


class AnyRule(_Rule):
    any: list[Rule] = Field(min_length=1)


class NotRule(_Rule):
    not_: Rule = Field(alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _rule_kind(value: Any) -> str:
    if isinstance(value, BaseModel):
        return type(value).__name__
    if isinstance(value, dict):
        for key, kind in (
            ("all", "AllRule"),
            ("any", "AnyRule"),
            ("not", "NotRule"),
            ("trait", "TraitRule"),
            ("score", "ScoreRule"),
            ("event", "EventCountRule"),
            ("last_event", "LastEventRule"),
            ("segment", "SegmentRule"),
        ):
            if key in value:
                return kind
    return "unknown"


Rule = Annotated[
    Annotated[AllRule, Tag("AllRule")]
    | Annotated[AnyRule, Tag("AnyRule")]
    | Annotated[NotRule, Tag("NotRule")]
    | Annotated[TraitRule, Tag("TraitRule")]
    | Annotated[ScoreRule, Tag("ScoreRule")]
    | Annotated[EventCountRule, Tag("EventCountRule")]
    | Annotated[LastEventRule, Tag("LastEventRule")]
    | Annotated[SegmentRule, Tag("SegmentRule")],
    Discriminator(_rule_kind),
]

AllRule.model_rebuild()
AnyRule.model_rebuild()
NotRule.model_rebuild()


class RuleDocument(BaseModel):
    """A wrapper to validate a rule from JSON/YAML: ``RuleDocument(rule=...)``."""

    rule: Rule


def parse_rule(document: Any) -> Rule:
    """Validate a rule document; raises ``pydantic.ValidationError`` naming the path at fault."""
    return RuleDocument.model_validate({"rule": document}).rule


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFact:
    """One past event of the profile, as rules see it."""

    event: str
    timestamp: datetime
    properties: dict[str, Any] = field(default_factory=dict)


class Facts(Protocol):
    """What rules may ask about a profile. Implementations must not do I/O lazily in hot loops."""

    def trait(self, path: str) -> Any: ...

    def events(self, name: str) -> Sequence[EventFact]: ...

    def in_segment(self, key: str) -> bool: ...


@dataclass
class ProfileFacts:
    """Facts from an in-memory snapshot: traits, computed traits, recent events, segments."""

    traits: dict[str, Any] = field(default_factory=dict)
    computed: dict[str, Any] = field(default_factory=dict)
    recent_events: Sequence[EventFact] = ()
    segments: frozenset[str] = frozenset()

    def trait(self, path: str) -> Any:
        if path.startswith("computed."):
            return lookup(self.computed, path[len("computed.") :])
        return lookup(self.traits, path)

    def events(self, name: str) -> Sequence[EventFact]:
        return [e for e in self.recent_events if e.event == name]

    def in_segment(self, key: str) -> bool:
        return key in self.segments


def lookup(document: dict[str, Any], path: str) -> Any:
    """Follow a dotted path; a missing key gives ``None``."""
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def compare(actual: Any, op: str, expected: Any) -> bool:
    """Apply one comparison operator; mismatched types compare as False, never raise.

    Types are strict: a number never equals or orders against a string (``"41"`` is not ``41``),
    a boolean is not a number. Strings compare case-insensitively for ``eq``/``in``/``contains``/
    ``starts_with``/``ends_with`` and by code point for ``gt``/``lt`` (ISO dates order well).
    These are exactly the semantics the SQL compiler (``segments/compiler.py``) reproduces.
    """
    if op == "exists":
        return actual is not None
    if op == "not_exists":
        return actual is None
    if actual is None:
        return op in ("ne", "not_in", "not_contains")
    try:
        if op == "eq":
            return _equal(actual, expected)
        if op == "ne":
            return not _equal(actual, expected)
        if op in ("gt", "gte", "lt", "lte"):
            return _ordered(actual, op, expected)
        if op == "in":
            return _member(actual, expected)
        if op == "not_in":
            return not _member(actual, expected)
        if op == "contains":
            return _contains(actual, expected)
        if op == "not_contains":
            return not _contains(actual, expected)
        if op == "starts_with":
            return _both_str(actual, expected) and actual.casefold().startswith(expected.casefold())
        if op == "ends_with":
            return _both_str(actual, expected) and actual.casefold().endswith(expected.casefold())
        if op == "matches":
            return isinstance(actual, str) and safe_regex.search(str(expected), actual)
    except (TypeError, ValueError):
        return False
    raise ValueError(f"unknown operator {op!r}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "other"


def _both_str(actual: Any, expected: Any) -> bool:
    return isinstance(actual, str) and isinstance(expected, str)


def _equal(actual: Any, expected: Any) -> bool:
    kind = _kind(actual)
    if kind == "datetime" or _kind(expected) == "datetime":
        a, b = _as_datetimes(actual, expected)
        return a == b
    if kind != _kind(expected) or kind == "null":
        return False  # null equals nothing, not even null (as in SQL)
    if kind == "string":
        return bool(actual.casefold() == expected.casefold())
    if kind == "number":
        return float(actual) == float(expected)
    return bool(actual == expected)


def _ordered(actual: Any, op: str, expected: Any) -> bool:
    kind = _kind(actual)
    a: Any
    b: Any
    if kind == "datetime" or _kind(expected) == "datetime":
        a, b = _as_datetimes(actual, expected)
    elif kind == "number" and _kind(expected) == "number":
        a, b = float(actual), float(expected)
    elif kind == "string" and _kind(expected) == "string":
        a, b = actual, expected
    else:
        return False
    return bool({"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op])


def _as_datetimes(actual: Any, expected: Any) -> tuple[datetime, datetime]:
    from partitur.core.clock import parse_iso8601

    a = actual if isinstance(actual, datetime) else parse_iso8601(str(actual))
    b = expected if isinstance(expected, datetime) else parse_iso8601(str(expected))
    return a, b


def _member(actual: Any, expected: Any) -> bool:
    options = expected if isinstance(expected, list | tuple) else [expected]
    return any(_equal(actual, option) for option in options)


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(expected, str) and expected.casefold() in actual.casefold()
    if isinstance(actual, list | tuple):
        return any(_equal(item, expected) for item in actual)
    return False


def _matching(
    events: Sequence[EventFact], where: list[PropertyFilter], since: datetime | None, now: datetime
) -> list[EventFact]:
    return [
        e
        for e in events
        if (since is None or e.timestamp >= since)
        and e.timestamp <= now
        and all(compare(lookup(e.properties, f.property), f.op, f.value) for f in where)
    ]


def evaluate(rule: Rule, facts: Facts, now: datetime) -> bool:
    """Evaluate ``rule`` against ``facts`` at ``now``."""
    if isinstance(rule, AllRule):
        return all(evaluate(r, facts, now) for r in rule.all)
    if isinstance(rule, AnyRule):
        return any(evaluate(r, facts, now) for r in rule.any)
    if isinstance(rule, NotRule):
        return not evaluate(rule.not_, facts, now)
    if isinstance(rule, TraitRule):
        return compare(facts.trait(rule.trait), rule.op, rule.value)
    if isinstance(rule, ScoreRule):
        return compare(facts.trait(f"computed.scores.{rule.score}"), rule.op, rule.value)
    if isinstance(rule, SegmentRule):
        return facts.in_segment(rule.segment)
    if isinstance(rule, EventCountRule):
        since = now - _window(rule.within) if rule.within else None
        count = len(_matching(facts.events(rule.event), rule.where, since, now))
        return compare(count, rule.count.op, rule.count.value)
    if isinstance(rule, LastEventRule):
        since = now - _window(rule.within)
        hit = bool(_matching(facts.events(rule.last_event), rule.where, since, now))
        return hit != rule.negate
    raise TypeError(f"not a rule: {rule!r}")


def referenced_events(rule: Rule) -> set[str]:
    """Event names a rule depends on (so callers load only those events)."""
    if isinstance(rule, AllRule | AnyRule):
        parts = rule.all if isinstance(rule, AllRule) else rule.any
        return set().union(*(referenced_events(r) for r in parts))
    if isinstance(rule, NotRule):
        return referenced_events(rule.not_)
    if isinstance(rule, EventCountRule):
        return {rule.event}
    if isinstance(rule, LastEventRule):
        return {rule.last_event}
    return set()


def referenced_segments(rule: Rule) -> set[str]:
    if isinstance(rule, AllRule | AnyRule):
        parts = rule.all if isinstance(rule, AllRule) else rule.any
        return set().union(*(referenced_segments(r) for r in parts))
    if isinstance(rule, NotRule):
        return referenced_segments(rule.not_)
    if isinstance(rule, SegmentRule):
        return {rule.segment}
    return set()


def longest_window(rule: Rule) -> timedelta | None:
    """The longest event window a rule looks back over (None: unbounded or no events)."""
    if isinstance(rule, AllRule | AnyRule):
        parts = rule.all if isinstance(rule, AllRule) else rule.any
        windows = [longest_window(r) for r in parts if referenced_events(r)]
        if any(w is None for w in windows):
            return None
        return max((w for w in windows if w is not None), default=None)
    if isinstance(rule, NotRule):
        return longest_window(rule.not_)
    if isinstance(rule, EventCountRule):
        return parse_duration(rule.within) if rule.within else None
    if isinstance(rule, LastEventRule):
        return parse_duration(rule.within)
    return None


def referenced_traits(rule: Rule) -> set[str]:
    """Trait paths a rule reads (``computed.<name>`` for computed traits, scores included)."""
    if isinstance(rule, AllRule | AnyRule):
        parts = rule.all if isinstance(rule, AllRule) else rule.any
        return set().union(*(referenced_traits(r) for r in parts))
    if isinstance(rule, NotRule):
        return referenced_traits(rule.not_)
    if isinstance(rule, TraitRule):
        return {rule.trait}
    if isinstance(rule, ScoreRule):
        return {f"computed.scores.{rule.score}"}
    return set()


def event_leaves(rule: Rule) -> list[EventCountRule | LastEventRule]:
    """Every event leaf of a rule, in document order."""
    if isinstance(rule, AllRule | AnyRule):
        parts = rule.all if isinstance(rule, AllRule) else rule.any
        return [leaf for r in parts for leaf in event_leaves(r)]
    if isinstance(rule, NotRule):
        return event_leaves(rule.not_)
    if isinstance(rule, EventCountRule | LastEventRule):
        return [rule]
    return []


def leaf_window(leaf: EventCountRule | LastEventRule) -> timedelta | None:
    return _window(leaf.within) if leaf.within else None


@functools.lru_cache(maxsize=1024)
def _window(text: str) -> timedelta:
    """``parse_duration`` for the hot evaluation path (rules repeat a handful of windows)."""
    return parse_duration(text)


def leaf_event(leaf: EventCountRule | LastEventRule) -> str:
    return leaf.event if isinstance(leaf, EventCountRule) else leaf.last_event


#: A window edge is passed one microsecond after ``timestamp + window`` (windows include their
#: start: an event exactly ``within`` old still counts).
EDGE = timedelta(microseconds=1)


def next_change_at(rule: Rule, facts: Facts, now: datetime) -> datetime | None:
    """The earliest moment after ``now`` at which time alone may change ``evaluate(rule, ...)``.

    That is when the oldest matching event inside a window falls out of it, or when an event
    stamped in the future becomes current. ``None``: only new events or trait changes can change
    the result. Callers re-evaluate at that moment (the segments window loop does).
    """
    best: datetime | None = None
    for leaf in event_leaves(rule):
        window = leaf_window(leaf)
        for e in facts.events(leaf_event(leaf)):
            if not all(
                compare(lookup(e.properties, f.property), f.op, f.value) for f in leaf.where
            ):
                continue
            if e.timestamp > now:
                moment = e.timestamp
            elif window is not None and e.timestamp >= now - window:
                moment = e.timestamp + window + EDGE
            else:
                continue
            if best is None or moment < best:
                best = moment
    return best
