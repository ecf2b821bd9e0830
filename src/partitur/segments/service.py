"""Segments: versioned rule-based definitions and membership kept current incrementally.

Writers here are the only code that changes segment state. Membership moves in three ways:

* ``build`` — set-based SQL over every profile (create, update, rebuild); the rule is compiled
  by ``segments/compiler.py`` or, if it cannot be, evaluated in Python over profile batches;
* ``refresh_profiles`` — the incremental path: the loops hand it the profiles an event or a
  trait change touched and the segments whose rules could change; rules are evaluated in Python
  (``rules.evaluate``, the reference) over facts loaded for just that batch;
* window checks — ``run_due_checks`` re-evaluates a profile when a window edge passes
  (``segment_checks.due_at``, kept for every profile/segment whose result may change with time).

Every entry and exit is appended to ``segment_membership_changes`` (``changes_since``), which
journeys follow by ``seq``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import Connection

from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import Conflict, InvalidDocument, NotFound
from partitur.core.ids import new_id
from partitur.core.pagination import Page, decode_cursor, encode_cursor
from partitur.segments import facts as facts_adapter
from partitur.segments import repository as repo
from partitur.segments.compiler import NotCompilable, compile_property_filters, compile_rule
from partitur.segments.contracts import (
    BuildResult,
    Member,
    MembershipChange,
    Preview,
    Segment,
    SegmentDefinition,
    SegmentDetail,
    SegmentUpdate,
)
from partitur.segments.rules import (
    EDGE,
    Rule,
    evaluate,
    event_leaves,
    leaf_event,
    leaf_window,
    longest_window,
    next_change_at,
    parse_rule,
    referenced_events,
    referenced_segments,
    referenced_traits,
)

log = logging.getLogger(__name__)

#: Profiles evaluated per batch when a rule must be evaluated in Python over everyone.
PYTHON_BATCH = 2000


# --- definitions ------------------------------------------------------------------------------


def parse_definition(document: Any) -> SegmentDefinition:
    """Validate a segment document (dict from JSON/YAML); raises ``InvalidDocument`` listing
    every problem with its path (``rule.all.0.op``)."""
    try:
        return SegmentDefinition.model_validate(document)
    except ValidationError as exc:
        raise invalid_document(exc) from None


def invalid_document(exc: ValidationError, prefix: str = "") -> InvalidDocument:
    problems = [
        {"path": prefix + _path(e.get("loc", ())), "message": e.get("msg", "invalid")}
        for e in exc.errors()
    ]
    first = problems[0] if problems else {"path": prefix or "document", "message": "invalid"}
    error = InvalidDocument(f"{first['path']}: {first['message']}", problems=problems)
    error.field = first["path"]
    return error


def _path(loc: tuple[Any, ...] | list[Any]) -> str:
    # the rule union's tags (AllRule, TraitRule, ...) are not part of the document
    return ".".join(str(p) for p in loc if not str(p).endswith("Rule") and p != "rule.rule")


def _segment(row: Any) -> Segment:
    return Segment.model_validate(dict(row))


def _rules(conn: Connection, workspace_id: str) -> dict[str, Rule]:
    return {row["key"]: parse_rule(row["rule"]) for row in repo.segment_rows(conn, workspace_id)}


def _check_references(rules: dict[str, Rule], key: str, rule: Rule) -> None:
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
    _topological(trial)


def _topological(rules: dict[str, Rule]) -> list[str]:
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


def _dependents(rules: dict[str, Rule], key: str) -> list[str]:
    """Segments whose rules refer (directly or not) to ``key``, in evaluation order."""
    found: set[str] = set()
    frontier = {key}
    while frontier:
        nxt = {k for k, r in rules.items() if referenced_segments(r) & frontier} - found
        found |= nxt
        frontier = nxt
    return [k for k in _topological(rules) if k in found]


@action("segment.create", permission=Permission.edit_segments, subject="segment")
def create_segment(
    conn: Connection,
    *,
    workspace_id: str,
    definition: SegmentDefinition,
    now: datetime,
    actor: Actor,
) -> SegmentDetail:
    """Save a new segment (version 1) and build its membership. Raises ``Conflict`` if the key
    is taken, ``InvalidDocument`` for unknown or cyclic segment references."""
    repo.lock_memberships(conn)
    if repo.segment_row(conn, workspace_id, definition.key) is not None:
        raise Conflict(f"a segment with key {definition.key!r} exists already", field="key")
    _check_references(_rules(conn, workspace_id), definition.key, definition.rule)
    version = repo.last_version(conn, workspace_id, definition.key) + 1
    document = definition.document()
    repo.insert_segment(
        conn,
        {
            "id": new_id("seg"),
            "workspace_id": workspace_id,
            "key": definition.key,
            "name": definition.name,
            "description": definition.description,
            "rule": document["rule"],
            "version": version,
            "created_at": now,
            "updated_at": now,
        },
    )
    _save_version(conn, workspace_id, definition.key, version, document, now, actor.label)
    describe(subject_id=definition.key, details={"version": version})
    _build_with_dependents(conn, workspace_id, definition.key, now)
    return get_segment(conn, workspace_id=workspace_id, key=definition.key)


@action("segment.update", permission=Permission.edit_segments, subject="segment", subject_key="key")
def update_segment(
    conn: Connection,
    *,
    workspace_id: str,
    key: str,
    update: SegmentUpdate,
    now: datetime,
    actor: Actor,
) -> SegmentDetail:
    """Save a new version of ``key`` and rebuild its membership (and that of segments that
    refer to it). Raises ``NotFound``, ``InvalidDocument``."""
    repo.lock_memberships(conn)
    row = repo.segment_row(conn, workspace_id, key)
    if row is None:
        raise NotFound(f"no segment {key!r}", field="key")
    _check_references(_rules(conn, workspace_id), key, update.rule)
    version = repo.last_version(conn, workspace_id, key) + 1
    document = SegmentDefinition(
        key=key, name=update.name, description=update.description, rule=update.rule
    ).document()
    repo.update_segment(
        conn,
        workspace_id,
        key,
        {
            "name": update.name,
            "description": update.description,
            "rule": document["rule"],
            "version": version,
            "updated_at": now,
        },
    )
    _save_version(conn, workspace_id, key, version, document, now, actor.label)
    describe(subject_id=key, details={"version": version})
    _build_with_dependents(conn, workspace_id, key, now)
    return get_segment(conn, workspace_id=workspace_id, key=key)


@action("segment.delete", permission=Permission.edit_segments, subject="segment", subject_key="key")
def delete_segment(
    conn: Connection, *, workspace_id: str, key: str, now: datetime, actor: Actor
) -> None:
    """Delete a segment and its memberships (no exit changes are recorded; the version history
    stays). Raises ``NotFound``, or ``Conflict`` while other segments refer to it."""
    repo.lock_memberships(conn)
    if repo.segment_row(conn, workspace_id, key) is None:
        raise NotFound(f"no segment {key!r}", field="key")
    users = sorted(
        k for k, r in _rules(conn, workspace_id).items() if key in referenced_segments(r)
    )
    if users:
        raise Conflict(f"segment {key!r} is used by {', '.join(users)}", field="key")
    repo.delete_segment(conn, workspace_id, key)
    describe(subject_id=key)


def _save_version(
    conn: Connection,
    workspace_id: str,
    key: str,
    version: int,
    document: dict[str, Any],
    now: datetime,
    actor: str,
) -> None:
    repo.insert_version(
        conn,
        {
            "workspace_id": workspace_id,
            "key": key,
            "version": version,
            "document": document,
            "created_at": now,
            "actor": actor,
        },
    )


def get_segment(conn: Connection, *, workspace_id: str, key: str) -> SegmentDetail:
    """A segment with its current size. Raises ``NotFound``."""
    row = repo.segment_row(conn, workspace_id, key)
    if row is None:
        raise NotFound(f"no segment {key!r}", field="key")
    return SegmentDetail(**_segment(row).model_dump(), size=repo.size(conn, workspace_id, key))


def list_segments(conn: Connection, *, workspace_id: str) -> list[Segment]:
    return [_segment(row) for row in repo.segment_rows(conn, workspace_id)]


# --- building (set-based) -------------------------------------------------------------------


@action(
    "segment.rebuild", permission=Permission.edit_segments, subject="segment", subject_key="key"
)
def rebuild(
    conn: Connection, *, workspace_id: str, key: str, now: datetime, actor: Actor
) -> BuildResult:
    """Recompute the membership of ``key`` (and of segments referring to it) from scratch."""
    repo.lock_memberships(conn)
    if repo.segment_row(conn, workspace_id, key) is None:
        raise NotFound(f"no segment {key!r}", field="key")
    result = _build_with_dependents(conn, workspace_id, key, now)
    describe(subject_id=key, details=result.model_dump())
    return result


def _build_with_dependents(
    conn: Connection, workspace_id: str, key: str, now: datetime
) -> BuildResult:
    rules = _rules(conn, workspace_id)
    result = build(conn, workspace_id=workspace_id, key=key, rule=rules[key], now=now)
    for dependent in _dependents(rules, key):
        build(conn, workspace_id=workspace_id, key=dependent, rule=rules[dependent], now=now)
    return result


def build(
    conn: Connection, *, workspace_id: str, key: str, rule: Rule, now: datetime
) -> BuildResult:
    """Make the membership of ``key`` match ``rule`` over every live profile at ``now``
    (set-based SQL where the rule compiles, Python batches otherwise) and schedule the window
    checks. Callers hold the membership lock."""
    dialect = conn.dialect.name
    how: Literal["sql", "python"]
    try:
        condition = compile_rule(rule, dialect=dialect, workspace_id=workspace_id, now=now)
    except NotCompilable as why:
        log.info("segment evaluated in python key=%s reason=%s", key, why)
        condition = None
    if condition is not None:
        entered, exited = repo.build_membership(conn, workspace_id, key, condition, now)
        _schedule_window_checks(conn, workspace_id, key, rule, now)
        how = "sql"
    else:
        entered, exited = _build_in_python(conn, workspace_id, key, rule, now)
        how = "python"
    repo.update_segment(conn, workspace_id, key, {"built_at": now})
    return BuildResult(
        key=key,
        entered=entered,
        exited=exited,
        size=repo.size(conn, workspace_id, key),
        evaluated_by=how,
    )


def _schedule_window_checks(
    conn: Connection, workspace_id: str, key: str, rule: Rule, now: datetime
) -> None:
    repo.clear_checks(conn, workspace_id, key)
    repo.insert_checks(conn, workspace_id, key, _window_due(conn, workspace_id, rule, now))


def _window_due(
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


def _build_in_python(
    conn: Connection, workspace_id: str, key: str, rule: Rule, now: datetime
) -> tuple[int, int]:
    entered = exited = 0
    after: str | None = None
    rules = {key: rule}
    while True:
        ids = repo.live_profile_ids(conn, workspace_id, after, PYTHON_BATCH)
        if not ids:
            break
        after = ids[-1]
        changes = _refresh(conn, workspace_id, {pid: {key} for pid in ids}, now, rules, [key])
        entered += sum(1 for c in changes if c[2] == "entered")
        exited += sum(1 for c in changes if c[2] == "exited")
    # members that are no longer live profiles (merged, erased) leave as well
    members = set(_all_members(conn, workspace_id, key))
    live: set[str] = set()
    after = None
    while True:
        ids = repo.live_profile_ids(conn, workspace_id, after, 10_000)
        if not ids:
            break
        after = ids[-1]
        live.update(ids)
    gone = sorted(members - live)
    repo.apply_changes(conn, workspace_id, [(key, pid, "exited") for pid in gone], now)
    repo.replace_checks(conn, workspace_id, {(key, pid): None for pid in gone})
    return entered, exited + len(gone)


def _all_members(conn: Connection, workspace_id: str, key: str) -> Iterator[str]:
    for chunk in audience(conn, workspace_id=workspace_id, segment_key=key):
        yield from chunk


def preview(
    conn: Connection, *, workspace_id: str, rule: Rule, now: datetime, sample: int = 10
) -> Preview:
    """How many live profiles match ``rule`` now, and a sample of them, without saving."""
    condition = _sql_condition(conn, workspace_id, rule, now)
    if condition is not None:
        size_, ids = repo.count_matching(conn, workspace_id, condition, sample)
        return Preview(size=size_, sample=ids, evaluated_by="sql")
    count = 0
    picked: list[str] = []
    for pid in _matching_in_python(conn, workspace_id, rule, now):
        count += 1
        if len(picked) < sample:
            picked.append(pid)
    return Preview(size=count, sample=picked, evaluated_by="python")


def matching_profile_ids(
    conn: Connection, *, workspace_id: str, rule: Rule, now: datetime
) -> list[str]:
    """Every live profile that matches ``rule`` now (one SQL query when the rule compiles),
    in id order."""
    condition = _sql_condition(conn, workspace_id, rule, now)
    if condition is not None:
        return repo.matching_ids(conn, workspace_id, condition)
    return list(_matching_in_python(conn, workspace_id, rule, now))


def _sql_condition(conn: Connection, workspace_id: str, rule: Rule, now: datetime) -> Any:
    try:
        return compile_rule(rule, dialect=conn.dialect.name, workspace_id=workspace_id, now=now)
    except NotCompilable:
        return None


def _matching_in_python(
    conn: Connection, workspace_id: str, rule: Rule, now: datetime
) -> Iterator[str]:
    after: str | None = None
    events_needed = referenced_events(rule)
    window = longest_window(rule)
    while True:
        ids = repo.live_profile_ids(conn, workspace_id, after, PYTHON_BATCH)
        if not ids:
            return
        after = ids[-1]
        memberships = repo.memberships_of(conn, workspace_id, ids)
        snapshots = facts_adapter.load_profile_facts(
            conn,
            workspace_id=workspace_id,
            profile_ids=ids,
            event_names=events_needed,
            since=now - window if window is not None else None,
            segments=memberships,
        )
        for pid in ids:
            snap = snapshots.get(pid)
            if snap is not None and evaluate(rule, snap.facts, now):
                yield pid


# --- incremental membership ----------------------------------------------------------------


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
        rules = _rules(conn, workspace_id)
        by_event: dict[str, set[str]] = defaultdict(set)
        by_traits: set[str] = set()
        by_computed: set[str] = set()
        for key, rule in rules.items():
            for name in referenced_events(rule):
                by_event[name].add(key)
            for trait in referenced_traits(rule):
                (by_computed if trait.startswith("computed.") else by_traits).add(key)
        return cls(rules, _topological(rules), dict(by_event), by_traits, by_computed)

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
    return _refresh(conn, workspace_id, wanted, now, index.rules, index.order)


def _refresh(
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
    dependents_of = {key: set(_dependents(rules, key)) for key in rules} if len(rules) > 1 else {}
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
                due = _window_due(conn, workspace_id, rule, now, pids)
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
) -> dict[str, facts_adapter.ProfileSnapshot]:
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


# --- reading (what journeys code against) -----------------------------------------------------


def changes_since(
    conn: Connection, *, workspace_id: str, after: int, limit: int
) -> list[MembershipChange]:
    """Membership changes with ``seq > after`` in ``seq`` order (at most ``limit``)."""
    return repo.changes_since(conn, workspace_id, after, limit)


def memberships(conn: Connection, *, workspace_id: str, profile_id: str) -> frozenset[str]:
    """The keys of the segments ``profile_id`` is in now."""
    return repo.memberships_of(conn, workspace_id, [profile_id]).get(profile_id, frozenset())


def audience(
    conn: Connection, *, workspace_id: str, segment_key: str, chunk: int = 10000
) -> Iterator[list[str]]:
    """The members of a segment as chunks of profile ids (ordered by id, keyset-paged)."""
    after: str | None = None
    while True:
        ids = repo.member_ids(conn, workspace_id, segment_key, after, chunk)
        if not ids:
            return
        yield ids
        if len(ids) < chunk:
            return
        after = ids[-1]


def size(conn: Connection, *, workspace_id: str, segment_key: str) -> int:
    return repo.size(conn, workspace_id, segment_key)


def members(
    conn: Connection,
    *,
    workspace_id: str,
    segment_key: str,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[Member]:
    """One page of members (by profile id); ``next_cursor`` continues. Raises ``NotFound``,
    ``BadRequest`` for a bad cursor."""
    if repo.segment_row(conn, workspace_id, segment_key) is None:
        raise NotFound(f"no segment {segment_key!r}", field="key")
    after = str(decode_cursor(cursor)) if cursor else None
    items = repo.members_page(conn, workspace_id, segment_key, after, limit)
    following = encode_cursor(items[-1].profile_id) if len(items) == limit else None
    return Page[Member](items=items, next_cursor=following)
