"""Membership kept current incrementally: the loops hand ``refresh_profiles`` the profiles that
new events, trait changes or merges touched and the segments whose rules could change; rules
are evaluated in Python (``rules.evaluate``, the reference) over facts loaded for just that
batch. ``run_due_checks`` re-evaluates a profile when a window edge passes."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from partitur.core.rules import (
    Rule,
    evaluate,
    event_leaves,
    longest_window,
    next_change_at,
    referenced_events,
    referenced_traits,
)
from partitur.segments import facts as facts_adapter
from partitur.segments import graph
from partitur.segments import repository as repo
from partitur.segments.compiler import NotCompilable, compile_rule

log = logging.getLogger(__name__)


@dataclass
class SegmentIndex:
    """Which segments of a workspace an event or trait change can affect."""

    rules: dict[str, Rule]
    order: list[str]
    by_event: dict[str, set[str]]
    by_traits: set[str]
    by_computed: set[str]

    @classmethod
    def load(cls, conn: Connection, workspace_id: str) -> SegmentIndex:
        rules = graph.rules_of(conn, workspace_id)
        by_event: dict[str, set[str]] = defaultdict(set)
        by_traits: set[str] = set()
        by_computed: set[str] = set()
        for key, rule in rules.items():
            for name in referenced_events(rule):
                by_event[name].add(key)
            for trait in referenced_traits(rule):
                (by_computed if trait.startswith("computed.") else by_traits).add(key)
        return cls(rules, graph.topological(rules), dict(by_event), by_traits, by_computed)

    def affected(self, event: str | None, traits_changed: bool) -> set[str]:
        """Segments an event may change: those naming it, those reading computed traits (which
        every event may move) and, when the event carried traits, those reading traits."""
        keys = set(self.by_computed)
        if event is not None:
            keys |= self.by_event.get(event, set())
        if traits_changed:
            keys |= self.by_traits
        return keys


def refresh_profiles(
    conn: Connection,
    *,
    workspace_id: str,
    wanted: dict[str, set[str]],
    now: datetime,
    index: SegmentIndex | None = None,
) -> list[tuple[str, str, str]]:
    """Re-evaluate, for each profile in ``wanted``, the given segments (plus segments that refer
    to them) and record entries/exits and window checks. Returns the changes
    ``(segment_key, profile_id, change)`` in the order written. Callers hold the lock."""
    index = index or SegmentIndex.load(conn, workspace_id)
    return refresh(conn, workspace_id, wanted, now, index.rules, index.order)


def refresh(
    conn: Connection,
    workspace_id: str,
    wanted: dict[str, set[str]],
    now: datetime,
    rules: dict[str, Rule],
    order: list[str],
) -> list[tuple[str, str, str]]:
    """Segment by segment in dependency order (so a segment that refers to another sees its
    new membership): compiled rules are evaluated in SQL for the whole batch of profiles at
    once; the rest in Python over facts loaded once for the batch."""
    closure: dict[str, set[str]] = {}
    dependents_of = (
        {key: set(graph.dependents(rules, key)) for key in rules} if len(rules) > 1 else {}
    )
    for pid, keys in wanted.items():
        keys = {k for k in keys if k in rules}
        for key in list(keys):
            keys |= dependents_of.get(key, set())
        if keys:
            closure[pid] = keys
    if not closure:
        return []
    by_key: dict[str, list[str]] = defaultdict(list)
    for pid in sorted(closure):
        for key in closure[pid]:
            by_key[key].append(pid)
    dialect = conn.dialect.name
    compiled: dict[str, Any] = {}
    for key in by_key:
        try:
            compiled[key] = compile_rule(
                rules[key], dialect=dialect, workspace_id=workspace_id, now=now
            )
        except NotCompilable:
            compiled[key] = None
    python_keys = [k for k in by_key if compiled[k] is None]
    current = {
        pid: set(keys) for pid, keys in repo.memberships_of(conn, workspace_id, closure).items()
    }
    snapshots = (
        _load_facts(conn, workspace_id, python_keys, by_key, rules, now) if python_keys else {}
    )
    changes: list[tuple[str, str, str]] = []
    for key in order:
        pids = by_key.get(key)
        if not pids:
            continue
        rule = rules[key]
        due: dict[str, datetime] = {}
        if compiled[key] is not None:
            inside = repo.matching_among(conn, workspace_id, pids, compiled[key])
            if event_leaves(rule):
                due = graph.window_due(conn, workspace_id, rule, now, pids)
        else:
            inside = set()
            for pid in pids:
                snap = snapshots.get(pid)
                if snap is None:
                    continue  # merged away or gone: in no segment
                snap.facts.segments = frozenset(current.get(pid, set()))
                if evaluate(rule, snap.facts, now):
                    inside.add(pid)
                moment = next_change_at(rule, snap.facts, now)
                if moment is not None:
                    due[pid] = moment
        step: list[tuple[str, str, str]] = []
        for pid in pids:
            member = key in current.get(pid, set())
            if pid in inside and not member:
                step.append((key, pid, "entered"))
                current.setdefault(pid, set()).add(key)
            elif pid not in inside and member:
                step.append((key, pid, "exited"))
                current[pid].discard(key)
        # written before dependents are evaluated: their SQL reads these memberships
        repo.apply_changes(conn, workspace_id, step, now)
        repo.replace_checks(conn, workspace_id, {(key, pid): due.get(pid) for pid in pids})
        changes.extend(step)
    return changes


def _load_facts(
    conn: Connection,
    workspace_id: str,
    keys: list[str],
    by_key: dict[str, list[str]],
    rules: dict[str, Rule],
    now: datetime,
) -> dict[str, facts_adapter.FactsOfProfile]:
    """Facts for the profiles of the segments evaluated in Python (one load for the batch)."""
    pids = sorted({pid for key in keys for pid in by_key[key]})
    event_names: set[str] = set()
    windows: list[timedelta | None] = []
    for key in keys:
        names = referenced_events(rules[key])
        if names:
            event_names |= names
            windows.append(longest_window(rules[key]))
    since = None
    if windows and all(w is not None for w in windows):
        since = now - max(w for w in windows if w is not None)
    return facts_adapter.load_profile_facts(
        conn,
        workspace_id=workspace_id,
        profile_ids=pids,
        event_names=event_names,
        since=since,
        segments={},
    )


def checks_due(conn: Connection, *, now: datetime) -> bool:
    """Whether a profile/segment pair's window edge has passed (a read, for idle passes)."""
    return bool(repo.due_checks(conn, now, 1))


def run_due_checks(conn: Connection, *, now: datetime, limit: int = 5000) -> tuple[int, int]:
    """Re-evaluate the profile/segment pairs whose window edge has passed; returns how many
    pairs were checked and how many memberships changed. Callers hold the lock."""
    due = repo.due_checks(conn, now, limit)
    by_workspace: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for ws, key, pid in due:
        by_workspace[ws][pid].add(key)
    changed = 0
    for ws, wanted in by_workspace.items():
        index = SegmentIndex.load(conn, ws)
        for pid, keys in wanted.items():
            for key in keys - set(index.rules):
                repo.delete_check(conn, ws, key, pid)  # the segment was deleted
        changes = refresh_profiles(conn, workspace_id=ws, wanted=dict(wanted), now=now, index=index)
        changed += len(changes)
    return len(due), changed
