"""Compile a rule (core/rules.py) to one SQL boolean over the ``profiles`` table.

The Python ``evaluate`` is the reference; this compiler reproduces it exactly for every rule it
accepts and raises ``NotCompilable`` for the rest (``matches``, list/object comparison values,
non-ASCII strings, unusual trait paths), in which case callers evaluate in Python. A test
(tests/integration/segments/test_compiler.py) checks with hypothesis that both agree.

JSON access differs per engine: SQLite uses ``json_type``/``json_extract``/``json_each`` with a
quoted path (``$."address"."city"``); PostgreSQL uses ``jsonb -> 'key'`` step by step (``->``
with a text key never indexes into an array, like Python's ``lookup``), ``jsonb_typeof`` and
``jsonb_array_elements``. Case-insensitive string comparison uses SQL ``lower()``, which agrees
with Python's ``casefold()`` for ASCII text.

This module reads the ``events`` and ``profiles`` tables directly: set-based evaluation over
every profile is what it is for. It moves with the facts adapter (segments/facts.py) once the
profiles service offers a query interface.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import ColumnElement, FromClause
from sqlalchemy.dialects import postgresql

from partitur.core.durations import parse_duration
from partitur.core.rules import (
    AllRule,
    AnyRule,
    EventCountRule,
    LastEventRule,
    NotRule,
    PropertyFilter,
    Rule,
    ScoreRule,
    SegmentRule,
    TraitRule,
)
from partitur.events.tables import events
from partitur.profiles.tables import profiles
from partitur.segments.tables import segment_memberships

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_\-$@ :/]+$")


class NotCompilable(Exception):
    """The rule uses something the SQL compiler does not reproduce exactly."""


Bool = ColumnElement[bool]


def _b(expr: Any) -> Bool:
    """A NULL-free boolean: SQL three-valued logic must never leak into NOT/OR."""
    return sa.case((expr, 1), else_=0) == 1


class _Scalar(Protocol):
    def missing(self) -> Bool: ...
    def is_str(self) -> Bool: ...
    def text(self) -> ColumnElement[Any]: ...
    def is_num(self) -> Bool: ...
    def num(self) -> ColumnElement[Any]: ...
    def is_true(self) -> Bool: ...
    def is_false(self) -> Bool: ...
    def any_element(self, test: Any) -> Bool: ...


@dataclass
class _SqliteScalar:
    type_: ColumnElement[Any]
    value: ColumnElement[Any]
    # the JSON text of this value when it is an array (for json_each)
    raw: ColumnElement[Any] | None = None

    def missing(self) -> Bool:
        return sa.or_(self.type_.is_(None), self.type_ == "null")

    def is_str(self) -> Bool:
        return self.type_ == "text"

    def text(self) -> ColumnElement[Any]:
        return self.value

    def is_num(self) -> Bool:
        return self.type_.in_(["integer", "real"])

    def num(self) -> ColumnElement[Any]:
        return sa.cast(self.value, sa.Float)

    def is_true(self) -> Bool:
        return self.type_ == "true"

    def is_false(self) -> Bool:
        return self.type_ == "false"

    def any_element(self, test: Any) -> Bool:
        if self.raw is None:
            return sa.false()
        source = sa.case((self.type_ == "array", self.raw), else_=sa.literal("[]"))
        each = sa.func.json_each(source).table_valued("type", "value").alias("el")
        element = _SqliteScalar(each.c.type, each.c.value)
        return sa.exists(sa.select(sa.literal(1)).select_from(each).where(test(element)))


def _sqlite_path(column: ColumnElement[Any], parts: list[str]) -> _SqliteScalar:
    path = "$" + "".join(f'."{p}"' for p in parts)
    return _SqliteScalar(
        sa.func.json_type(column, path),
        sa.func.json_extract(column, path),
        sa.func.json_extract(column, path),
    )


@dataclass
class _PgScalar:
    value: ColumnElement[Any]  # jsonb

    def _type(self) -> ColumnElement[Any]:
        return sa.func.jsonb_typeof(self.value)

    def missing(self) -> Bool:
        return sa.or_(self._type().is_(None), self._type() == "null")

    def is_str(self) -> Bool:
        return self._type() == "string"

    def text(self) -> ColumnElement[Any]:
        return self.value.op("#>>", return_type=sa.Text)(sa.literal_column("'{}'::text[]"))

    def is_num(self) -> Bool:
        return self._type() == "number"

    def num(self) -> ColumnElement[Any]:
        return sa.case(
            (self.is_num(), sa.cast(self.text(), postgresql.DOUBLE_PRECISION)), else_=None
        )

    def is_true(self) -> Bool:
        return sa.and_(self._type() == "boolean", self.text() == "true")

    def is_false(self) -> Bool:
        return sa.and_(self._type() == "boolean", self.text() == "false")

    def any_element(self, test: Any) -> Bool:
        source = sa.case(
            (self._type() == "array", self.value),
            else_=sa.literal_column("'[]'::jsonb"),
        )
        elements = sa.func.jsonb_array_elements(source).table_valued("value").alias("el")
        element = _PgScalar(elements.c.value)
        return sa.exists(sa.select(sa.literal(1)).select_from(elements).where(test(element)))


def _pg_path(column: ColumnElement[Any], parts: list[str]) -> _PgScalar:
    value: ColumnElement[Any] = column
    for part in parts:
        value = value.op("->", return_type=postgresql.JSONB)(sa.cast(sa.literal(part), sa.Text))
    return _PgScalar(value)


@dataclass
class _Number:
    """A SQL number (an event count) seen as a scalar."""

    expr: ColumnElement[Any]

    def missing(self) -> Bool:
        return sa.false()

    def is_str(self) -> Bool:
        return sa.false()

    def text(self) -> ColumnElement[Any]:
        return sa.literal("")

    def is_num(self) -> Bool:
        return sa.true()

    def num(self) -> ColumnElement[Any]:
        return self.expr

    def is_true(self) -> Bool:
        return sa.false()

    def is_false(self) -> Bool:
        return sa.false()

    def any_element(self, test: Any) -> Bool:
        return sa.false()


def _ascii(value: str) -> str:
    if not value.isascii():
        raise NotCompilable("non-ASCII string comparison")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Compiler:
    def __init__(self, dialect: str, workspace_id: str, now: datetime, profile: FromClause):
        self.dialect = dialect
        self.workspace_id = workspace_id
        self.now = now
        self.profile = profile

    # --- values -------------------------------------------------------------------------
    def path(self, column: ColumnElement[Any], dotted: str) -> _Scalar:
        parts = dotted.split(".")
        if any(not _SAFE_KEY.match(p) for p in parts):
            raise NotCompilable(f"trait path {dotted!r}")
        if self.dialect == "postgresql":
            return _pg_path(column, parts)
        return _sqlite_path(column, parts)

    def trait(self, dotted: str) -> _Scalar:
        if dotted.startswith("computed."):
            return self.path(self.profile.c.computed, dotted[len("computed.") :])
        return self.path(self.profile.c.traits, dotted)

    # --- comparisons (mirror rules.compare) -----------------------------------------------
    def equal(self, s: _Scalar, expected: Any) -> Bool:
        if isinstance(expected, bool):
            return _b(s.is_true() if expected else s.is_false())
        if _is_number(expected):
            return _b(sa.and_(s.is_num(), s.num() == float(expected)))
        if isinstance(expected, str):
            return _b(sa.and_(s.is_str(), sa.func.lower(s.text()) == _ascii(expected).lower()))
        if expected is None:
            return sa.false()
        raise NotCompilable("list or object comparison value")

    def ordered(self, s: _Scalar, op: str, expected: Any) -> Bool:
        def cmp(a: Any, b: Any) -> Bool:
            return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]  # type: ignore[no-any-return]

        if _is_number(expected):
            return _b(sa.and_(s.is_num(), cmp(s.num(), float(expected))))
        if isinstance(expected, str):
            text = s.text()
            if self.dialect == "postgresql":
                text = text.collate("C")
            return _b(sa.and_(s.is_str(), cmp(text, expected)))
        return sa.false()

    def contains(self, s: _Scalar, expected: Any) -> Bool:
        if isinstance(expected, list | dict):
            raise NotCompilable("list or object comparison value")
        in_array = s.any_element(lambda el: self.equal(el, expected))
        if not isinstance(expected, str):
            return _b(in_array)
        needle = _ascii(expected).lower()
        position = sa.func.strpos if self.dialect == "postgresql" else sa.func.instr
        in_text = sa.and_(s.is_str(), position(sa.func.lower(s.text()), needle) > 0)
        return _b(sa.or_(in_text, in_array))

    def compare(self, s: _Scalar, op: str, expected: Any) -> Bool:
        if op == "exists":
            return _b(sa.not_(s.missing()))
        if op == "not_exists":
            return _b(s.missing())
        if op in ("ne", "not_in", "not_contains"):
            positive = {"ne": "eq", "not_in": "in", "not_contains": "contains"}[op]
            return _b(sa.or_(s.missing(), sa.not_(self.compare(s, positive, expected))))
        if op == "eq":
            return self.equal(s, expected)
        if op in ("gt", "gte", "lt", "lte"):
            return self.ordered(s, op, expected)
        if op == "in":
            options = expected if isinstance(expected, list) else [expected]
            return _b(sa.or_(sa.false(), *(self.equal(s, o) for o in options)))
        if op == "contains":
            return self.contains(s, expected)
        if op in ("starts_with", "ends_with"):
            if not isinstance(expected, str):
                return sa.false()
            fix = _ascii(expected).lower()
            text = sa.func.lower(s.text())
            if op == "starts_with":
                edge = sa.func.substr(text, 1, len(fix))
                return _b(sa.and_(s.is_str(), edge == fix))
            length = sa.func.length(s.text())
            edge = sa.func.substr(text, length - len(fix) + 1)
            return _b(sa.and_(s.is_str(), length >= len(fix), edge == fix))
        raise NotCompilable(f"operator {op!r}")

    # --- events -----------------------------------------------------------------------------
    def event_filter(
        self, name: str, where: list[PropertyFilter], within: str | None
    ) -> list[Bool]:
        # no workspace condition: the profile (already of this workspace) implies it, and it
        # would tempt SQLite to scan the workspace's events instead of the profile's
        conditions: list[Bool] = [
            events.c.profile_id == self.profile.c.id,
            events.c.event == name,
            events.c.timestamp <= self.now,
        ]
        if within:
            conditions.append(events.c.timestamp >= self.now - parse_duration(within))
        for f in where:
            conditions.append(
                self.compare(self.path(events.c.properties, f.property), f.op, f.value)
            )
        return conditions

    def event_count(self, rule: EventCountRule) -> Bool:
        conditions = self.event_filter(rule.event, rule.where, rule.within)
        matching = sa.select(sa.literal(1)).select_from(events).where(*conditions)
        op, value = rule.count.op, rule.count.value
        if _is_number(value) and op in ("gte", "gt"):
            # "at least one" is an EXISTS; "at least zero" always holds
            if (op == "gte" and value <= 0) or (op == "gt" and value < 0):
                return sa.true()
            if (op == "gte" and value <= 1) or (op == "gt" and value < 1):
                return _b(sa.exists(matching))
        counted = (
            sa.select(sa.func.count()).select_from(events).where(*conditions).scalar_subquery()
        )
        return self.compare(_Number(counted), op, value)

    # --- rules --------------------------------------------------------------------------------
    def rule(self, rule: Rule) -> Bool:
        if isinstance(rule, AllRule):
            return sa.and_(*(self.rule(r) for r in rule.all))
        if isinstance(rule, AnyRule):
            return sa.or_(*(self.rule(r) for r in rule.any))
        if isinstance(rule, NotRule):
            return sa.not_(self.rule(rule.not_))
        if isinstance(rule, TraitRule):
            return self.compare(self.trait(rule.trait), rule.op, rule.value)
        if isinstance(rule, ScoreRule):
            return self.compare(self.trait(f"computed.scores.{rule.score}"), rule.op, rule.value)
        if isinstance(rule, SegmentRule):
            member = sa.select(sa.literal(1)).where(
                segment_memberships.c.workspace_id == self.workspace_id,
                segment_memberships.c.segment_key == rule.segment,
                segment_memberships.c.profile_id == self.profile.c.id,
            )
            return _b(sa.exists(member))
        if isinstance(rule, EventCountRule):
            return self.event_count(rule)
        if isinstance(rule, LastEventRule):
            conditions = self.event_filter(rule.last_event, rule.where, rule.within)
            hit = _b(sa.exists(sa.select(sa.literal(1)).select_from(events).where(*conditions)))
            return sa.not_(hit) if rule.negate else hit
        raise NotCompilable(f"rule {type(rule).__name__}")


def compile_rule(
    rule: Rule,
    *,
    dialect: str,
    workspace_id: str,
    now: datetime,
    profile: FromClause | None = None,
) -> Bool:
    """A SQL boolean over ``profile`` (default: the ``profiles`` table) that is true exactly when
    ``evaluate(rule, facts_of(profile), now)`` is. Raises ``NotCompilable``."""
    return _Compiler(dialect, workspace_id, now, profile if profile is not None else profiles).rule(
        rule
    )


def compile_property_filters(where: list[PropertyFilter], *, dialect: str) -> list[Bool]:
    """SQL conditions over ``events.properties`` for an event leaf's ``where`` filters."""
    compiler = _Compiler(dialect, "", datetime.min.replace(tzinfo=UTC), profiles)
    return [
        compiler.compare(compiler.path(events.c.properties, f.property), f.op, f.value)
        for f in where
    ]
