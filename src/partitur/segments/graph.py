"""The segments of a workspace as a graph of rules: which segment refers to which (order,
cycles, dependents), and when time alone may change a profile's membership (window edges)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from partitur.core.errors import InvalidDocument
from partitur.core.rules import (
    EDGE,
    Rule,
    event_leaves,
    leaf_event,
    leaf_window,
    parse_rule,
    referenced_segments,
)
from partitur.segments import repository as repo
from partitur.segments.compiler import compile_property_filters


def rules_of(conn: Connection, workspace_id: str) -> dict[str, Rule]:
    return {row["key"]: parse_rule(row["rule"]) for row in repo.segment_rows(conn, workspace_id)}


def check_references(rules: dict[str, Rule], key: str, rule: Rule) -> None:
    """Referenced segments must exist and must not lead back to ``key``."""
    missing = sorted(s for s in referenced_segments(rule) if s not in rules or s == key)
    if key in referenced_segments(rule):
        raise InvalidDocument(
            "a segment cannot refer to itself",
            problems=[{"path": "rule", "message": f"segment {key!r} refers to itself"}],
        )
    if missing:
        raise InvalidDocument(
            f"rule: unknown segment {missing[0]!r}",
            problems=[{"path": "rule", "message": f"unknown segment {m!r}"} for m in missing],
        )
    trial = dict(rules)
    trial[key] = rule
    topological(trial)


def topological(rules: dict[str, Rule]) -> list[str]:
    """Keys ordered so that every segment comes after the segments its rule refers to."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(key: str, trail: list[str]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            cycle = " -> ".join([*trail, key])
            raise InvalidDocument(
                f"rule: segments refer to each other in a cycle ({cycle})",
                problems=[{"path": "rule", "message": f"cycle {cycle}"}],
            )
        state[key] = 1
        for dep in sorted(referenced_segments(rules[key])):
            if dep in rules:
                visit(dep, [*trail, key])
        state[key] = 2
        order.append(key)

    for key in sorted(rules):
        visit(key, [])
    return order


def dependents(rules: dict[str, Rule], key: str) -> list[str]:
    """Segments whose rules refer (directly or not) to ``key``, in evaluation order."""
    found: set[str] = set()
    frontier = {key}
    while frontier:
        nxt = {k for k, r in rules.items() if referenced_segments(r) & frontier} - found
        found |= nxt
        frontier = nxt
    return [k for k in topological(rules) if k in found]


def schedule_window_checks(
    conn: Connection, workspace_id: str, key: str, rule: Rule, now: datetime
) -> None:
    repo.clear_checks(conn, workspace_id, key)
    repo.insert_checks(conn, workspace_id, key, window_due(conn, workspace_id, rule, now))


def window_due(
    conn: Connection,
    workspace_id: str,
    rule: Rule,
    now: datetime,
    profile_ids: list[str] | None = None,
) -> dict[str, datetime]:
    """Set-based counterpart of ``rules.next_change_at``: per profile with matching events
    (all, or those in ``profile_ids``), the next moment time alone may change the result."""
    due: dict[str, datetime] = {}
    for leaf in event_leaves(rule):
        window = leaf_window(leaf)
        filters = compile_property_filters(leaf.where, dialect=conn.dialect.name)
        since = now - window if window is not None else None
        for pid, oldest, future in repo.window_edges(
            conn, workspace_id, leaf_event(leaf), filters, since, now, profile_ids
        ):
            candidates = [future] if future is not None else []
            if window is not None and oldest is not None:
                candidates.append(oldest + window + EDGE)
            if candidates:
                moment = min(candidates)
                if pid not in due or moment < due[pid]:
                    due[pid] = moment
    return due
