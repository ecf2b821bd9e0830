"""Rules compile to one SQL boolean per engine, or are refused when SQL cannot match Python."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from partitur.core.rules import parse_rule
from partitur.segments.compiler import NotCompilable, compile_rule

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def sql(document: dict[str, Any], dialect: str) -> str:
    condition = compile_rule(parse_rule(document), dialect=dialect, workspace_id="ws", now=NOW)
    engine = sqlite.dialect() if dialect == "sqlite" else postgresql.dialect()
    return str(condition.compile(dialect=engine))


def test_sqlite_reads_json_with_quoted_paths() -> None:
    text = sql({"trait": "address.city", "value": "Koln"}, "sqlite")
    assert "json_type(profiles.traits" in text and "lower(json_extract(" in text


def test_postgresql_walks_objects_key_by_key() -> None:
    text = sql({"trait": "address.city", "value": "Koln"}, "postgresql")
    assert "jsonb_typeof" in text and "->" in text and "#>" not in text.replace("#>>", "")


def test_computed_traits_and_scores_read_the_computed_document() -> None:
    assert "profiles.computed" in sql({"score": "churn", "op": "gte", "value": 0.7}, "sqlite")


def test_at_least_one_event_is_an_exists_and_counts_are_a_subquery() -> None:
    once = sql({"event": "Order Completed", "within": "P30D"}, "sqlite")
    assert "EXISTS" in once and "count(" not in once
    thrice = sql({"event": "Page Viewed", "count": {"op": "gte", "value": 3}}, "sqlite")
    assert "count(*)" in thrice


@pytest.mark.parametrize(
    "document",
    [
        {"trait": "email", "op": "matches", "value": "@example\\.com$"},
        {"trait": "tags", "op": "eq", "value": ["a"]},
        {"trait": "city", "value": "Zürich"},
        {"trait": 'odd"key', "op": "exists"},
    ],
)
def test_what_sql_cannot_reproduce_exactly_is_refused(document: dict[str, Any]) -> None:
    for dialect in ("sqlite", "postgresql"):
        with pytest.raises(NotCompilable):
            sql(document, dialect)
