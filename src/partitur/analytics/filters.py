"""Event conditions of the rule format (:mod:`partitur.core.rules`) compiled to DuckDB SQL
over the ``events`` view, so that "which events are a goal / a touchpoint / a guardrail" is
evaluated set-based with the same semantics as the journey runtime's Python ``matches``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from partitur.core.rules import PropertyFilter


def sql_literal(value: Any) -> str:
    """A SQL literal for a bool, number or string (strings quoted, quotes doubled)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


def json_path(prop: str) -> str:
    """The JSON path literal of a dotted property name (``address.city``)."""
    return "'$." + ".".join(f'"{p}"' for p in prop.replace("'", "").split(".")) + "'"


def property_filter_sql(f: PropertyFilter, column: str = "properties") -> str:
    """Compile one property filter to DuckDB SQL with the rule format's semantics
    (strings compare case-insensitively, a missing property matches only negative operators)."""
    raw = f"json_extract_string({column}, {json_path(f.property)})"
    text = f"lower({raw})"
    num = f"TRY_CAST({raw} AS DOUBLE)"
    value = f.value
    if f.op == "exists":
        return f"{raw} IS NOT NULL"
    if f.op == "not_exists":
        return f"{raw} IS NULL"
    if f.op in ("eq", "ne"):
        if isinstance(value, bool):
            cond = f"{raw} = {sql_literal('true' if value else 'false')}"
        elif isinstance(value, int | float):
            cond = f"{num} = {sql_literal(value)}"
        else:
            cond = f"{text} = lower({sql_literal(value)})"
        return cond if f.op == "eq" else f"({raw} IS NULL OR NOT ({cond}))"
    if f.op in ("gt", "gte", "lt", "lte"):
        sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[f.op]
        if isinstance(value, int | float):
            return f"{num} {sign} {sql_literal(value)}"
        return f"{raw} {sign} {sql_literal(value)}"
    if f.op in ("in", "not_in"):
        values = ", ".join(f"lower({sql_literal(v)})" for v in (value or []))
        cond = f"{text} IN ({values})" if values else "FALSE"
        return cond if f.op == "in" else f"({raw} IS NULL OR NOT ({cond}))"
    if f.op in ("contains", "not_contains"):
        cond = f"contains({text}, lower({sql_literal(value)}))"
        return cond if f.op == "contains" else f"({raw} IS NULL OR NOT ({cond}))"
    if f.op == "starts_with":
        return f"starts_with({text}, lower({sql_literal(value)}))"
    if f.op == "ends_with":
        return f"ends_with({text}, lower({sql_literal(value)}))"
    if f.op == "matches":
        return f"regexp_matches({raw}, {sql_literal(value)})"
    raise ValueError(f"unknown operator {f.op}")


def event_match_sql(event: str, where: Sequence[PropertyFilter] = ()) -> str:
    """SQL that holds for events named ``event`` whose properties pass every filter."""
    return " AND ".join([f"event = {sql_literal(event)}", *(property_filter_sql(f) for f in where)])
