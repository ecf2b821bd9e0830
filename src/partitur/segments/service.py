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
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import Connection

from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import Conflict, InvalidDocument, NotFound, ValidationFailed
from partitur.core.ids import new_id
from partitur.core.pagination import Page, decode_cursor, encode_cursor
from partitur.core.rules import (
    PropertyFilter,
    Rule,
    evaluate,
    longest_window,
    referenced_events,
    referenced_segments,
)
from partitur.segments import facts as facts_adapter
from partitur.segments import graph, membership
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
    graph.check_references(graph.rules_of(conn, workspace_id), definition.key, definition.rule)
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
    graph.check_references(graph.rules_of(conn, workspace_id), key, update.rule)
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
        k for k, r in graph.rules_of(conn, workspace_id).items() if key in referenced_segments(r)
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
    rules = graph.rules_of(conn, workspace_id)
    result = build(conn, workspace_id=workspace_id, key=key, rule=rules[key], now=now)
    for dependent in graph.dependents(rules, key):
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
        graph.schedule_window_checks(conn, workspace_id, key, rule, now)
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
        changes = membership.refresh(
            conn, workspace_id, {pid: {key} for pid in ids}, now, rules, [key]
        )
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


# --- reading (what journeys code against) -----------------------------------------------------


def changes_since(
    conn: Connection, *, workspace_id: str, after: int, limit: int
) -> list[MembershipChange]:
    """Membership changes with ``seq > after`` in ``seq`` order (at most ``limit``)."""
    return repo.changes_since(conn, workspace_id, after, limit)


def last_change_seq(conn: Connection, *, workspace_id: str) -> int:
    """The ``seq`` of the workspace's newest membership change (0 when there is none)."""
    return repo.last_change_seq(conn, workspace_id)


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


def property_conditions(where: list[PropertyFilter], *, dialect: str) -> list[Any]:
    """SQL conditions over ``events.properties`` with the rule format's semantics, for other
    domains that select events by property (e.g. a propensity model's label event). Raises
    ``ValidationFailed`` for a filter the SQL compiler cannot reproduce exactly."""
    try:
        return list(compile_property_filters(where, dialect=dialect))
    except NotCompilable as exc:
        raise ValidationFailed(f"the filter cannot be used here: {exc}", field="where") from exc
