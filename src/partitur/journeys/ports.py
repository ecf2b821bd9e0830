"""Thin adapters to the other domains, one function per dependency.

Each adapter calls the other domain's service when it is installed and otherwise falls back to
the smallest correct behaviour (documented on each function). When a domain lands on main, only
its adapter changes.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from types import ModuleType
from typing import Any

from sqlalchemy import Connection, func, select

from partitur.core.actions import Actor
from partitur.core.errors import NotFound
from partitur.journeys.bulk import bulk_insert
from partitur.journeys.tables import journey_sends
from partitur.profiles import service as profiles_service
from partitur.segments.rules import EventFact

log = logging.getLogger(__name__)


@cache
def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def _service(name: str, attr: str) -> Any:
    module = _module(name)
    return getattr(module, attr, None) if module is not None else None


@dataclass(frozen=True)
class ProfileSnapshot:
    profile_id: str
    traits: dict[str, Any] = field(default_factory=dict)
    computed: dict[str, Any] = field(default_factory=dict)
    timezone: str | None = None
    is_test: bool = False


def load_profiles(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str]
) -> dict[str, ProfileSnapshot]:
    """Profiles by id (missing ones are absent), following merges to the survivor.

    One query per 500 ids on the ``profiles`` table: ``profiles.service.get_profile`` costs
    several queries per profile (identities, merges), too slow for batches of thousands of
    steps. Switch to a bulk ``profiles.service`` function when there is one."""
    from partitur.profiles.tables import profiles

    def fetch(ids: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for i in range(0, len(ids), 500):
            rows = conn.execute(
                select(
                    profiles.c.id,
                    profiles.c.merged_into,
                    profiles.c.traits,
                    profiles.c.computed,
                    profiles.c.timezone,
                    profiles.c.is_test,
                ).where(profiles.c.id.in_(ids[i : i + 500]))
            )
            found.update({r.id: r for r in rows})
        return found

    wanted = list(dict.fromkeys(profile_ids))
    rows = fetch(wanted)
    target = {pid: pid for pid in wanted if pid in rows}
    for _ in range(5):  # follow merges to the survivor
        hops = {pid: rows[t].merged_into for pid, t in target.items() if rows[t].merged_into}
        if not hops:
            break
        rows.update(fetch(sorted(set(hops.values()) - set(rows))))
        for pid, survivor in hops.items():
            if survivor in rows:
                target[pid] = survivor
    out: dict[str, ProfileSnapshot] = {}
    for pid, t in target.items():
        r = rows[t]
        out[pid] = ProfileSnapshot(
            pid, dict(r.traits or {}), dict(r.computed or {}), r.timezone, bool(r.is_test)
        )
    return out


def update_traits(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    traits: dict[str, Any],
    now: datetime,
    source: str,
) -> None:
    """Set traits through the profiles service (a journey's ``update_profile`` step)."""
    try:
        profiles_service.update_traits(
            conn,
            workspace_id=workspace_id,
            profile_id=profile_id,
            traits=traits,
            now=now,
            source=source,
            actor=Actor.system(workspace_id, "journeys"),
        )
    except NotFound:
        log.warning("update_profile: no profile %s", profile_id)


def recent_events(
    conn: Connection,
    *,
    profile_id: str,
    names: set[str],
    since: datetime | None,
    until: datetime | None = None,
) -> list[EventFact]:
    """The profile's events of the given names since ``since`` (and, when replaying history,
    up to ``until``) as rule facts."""
    if not names:
        return []
    from partitur.events.tables import events

    query = select(events.c.event, events.c.timestamp, events.c.properties).where(
        events.c.profile_id == profile_id, events.c.event.in_(sorted(names))
    )
    if since is not None:
        query = query.where(events.c.timestamp >= since)
    if until is not None:
        query = query.where(events.c.timestamp <= until)
    return [
        EventFact(r.event, r.timestamp, dict(r.properties or {}))
        for r in conn.execute(query.order_by(events.c.timestamp))
    ]


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    profile_id: str
    event: str
    timestamp: datetime
    properties: dict[str, Any]
    #: when partitur received it: a journey reacts only to events received once it was live
    received_at: datetime | None = None


def identity_installed() -> bool:
    return _service("partitur.identity.service", "resolved_position") is not None


def resolved_position(conn: Connection) -> int:
    """The highest event ``seq`` up to which every event has its ``profile_id``.

    ``identity.service.resolved_position`` when available; until then: one below the first
    event that identity resolution has not reached (or the last seq)."""
    resolved = _service("partitur.identity.service", "resolved_position")
    if resolved is not None:
        return int(resolved(conn))
    from partitur.events.tables import events

    first_open = conn.execute(
        select(func.min(events.c.seq)).where(events.c.profile_id.is_(None))
    ).scalar()
    if first_open is not None:
        return int(first_open) - 1
    return int(conn.execute(select(func.max(events.c.seq))).scalar() or 0)


def events_after(
    conn: Connection,
    *,
    workspace_id: str,
    after: int,
    upto: int,
    limit: int,
    names: set[str] | None = None,
) -> tuple[list[LoggedEvent], int]:
    """Resolved events (track/page/screen with a name) with ``after < seq <= upto`` in ``seq``
    order, only those named in ``names`` when given, at most ``limit``; and the seq up to which
    the log was read (``upto`` when fewer than ``limit`` matched).

    The log is read through its primary key only: a workspace condition in SQL lets SQLite
    pick the (workspace, source, message) index and sort the whole workspace's log in a
    temporary B-tree on every pass, so the workspace is checked on the rows read."""
    from partitur.events.tables import events

    query = (
        select(
            events.c.seq,
            events.c.workspace_id,
            events.c.profile_id,
            events.c.event,
            events.c.timestamp,
            events.c.properties,
            events.c.received_at,
        )
        .where(events.c.seq > after, events.c.seq <= upto, events.c.profile_id.is_not(None))
        .order_by(events.c.seq)
        .limit(limit)
    )
    if names is not None:
        query = query.where(events.c.event.in_(sorted(names)))
    rows = conn.execute(query).all()
    through = rows[-1].seq if len(rows) == limit else upto
    return [
        LoggedEvent(
            r.seq,
            r.profile_id or "",
            r.event or "",
            r.timestamp,
            r.properties or {},
            r.received_at,
        )
        for r in rows
        if r.workspace_id == workspace_id
    ], through


def last_seq(rows: Sequence[LoggedEvent], default: int) -> int:
    return rows[-1].seq if rows else default


def withdraw_sends(
    conn: Connection,
    *,
    workspace_id: str,
    journey_ids: list[str],
    created_before: datetime,
    reason: str,
    now: datetime,
) -> int:
    """Withdraw the journeys' sends made before ``created_before`` that are still queued
    (``channels.service.withdraw_queued``); 0 while channels is not installed."""
    withdraw = _service("partitur.channels.service", "withdraw_queued")
    if withdraw is None:
        return 0
    return int(
        withdraw(
            conn,
            workspace_id=workspace_id,
            journey_ids=journey_ids,
            created_before=created_before,
            reason=reason,
            now=now,
        )
    )


def enqueue(conn: Connection, *, request: dict[str, Any], now: datetime) -> None:
    """Hand a send to the channels outbox inside the caller's transaction (one request of
    ``enqueue_many``)."""
    enqueue_many(conn, requests=[request], now=now)


def enqueue_many(conn: Connection, *, requests: list[dict[str, Any]], now: datetime) -> None:
    """Hand a batch of sends to the channels outbox (``channels.service.enqueue_many``: one
    lookup, one multi-row insert, one batch of ``message.queued`` events) inside the caller's
    transaction. Until channels is on main, rows go to ``journey_sends`` (bulk insert)."""
    if not requests:
        return
    enqueue_fn = _service("partitur.channels.service", "enqueue_many")
    contracts = _module("partitur.channels.contracts")
    if enqueue_fn is not None and contracts is not None:
        enqueue_fn(conn, requests=[contracts.SendRequest(**r) for r in requests], now=now)
        return
    bulk_insert(
        conn,
        journey_sends,
        [
            {
                "idempotency_key": r["idempotency_key"],
                "workspace_id": r["workspace_id"],
                "profile_id": r["profile_id"],
                "channel": r["channel"],
                "template": r["template"],
                "category": r["category"],
                "payload": {"payload": r.get("payload"), "data": r.get("data")},
                "journey_id": r["journey_id"],
                "instance_id": r["instance_id"],
                "node_id": r["node_id"],
                "created_at": now,
            }
            for r in requests
        ],
    )


def known_channels() -> set[str] | None:
    """``channels.service.known_channels()``; None (the built-in list) until it exists."""
    fn = _service("partitur.channels.service", "known_channels")
    return set(fn()) if fn is not None else None


def check_template(conn: Connection, *, workspace_id: str, key: str, channel: str) -> list[str]:
    """Problems with a template (``channels.service.check_template``); none until it exists."""
    fn = _service("partitur.channels.service", "check_template")
    if fn is None:
        return []
    return list(fn(conn, workspace_id=workspace_id, key=key, channel=channel))


def memberships(conn: Connection, *, workspace_id: str, profile_id: str) -> frozenset[str]:
    """Segments the profile is in (``segments.service.memberships``); empty until it exists."""
    fn = _service("partitur.segments.service", "memberships")
    if fn is None:
        return frozenset()
    return frozenset(fn(conn, workspace_id=workspace_id, profile_id=profile_id))


@dataclass(frozen=True)
class MembershipChange:
    seq: int
    segment_key: str
    profile_id: str
    change: str
    at: datetime


def segment_changes(
    conn: Connection, *, workspace_id: str, after: int, limit: int
) -> list[MembershipChange]:
    """``segments.service.changes_since``; nothing until segments is on main."""
    fn = _service("partitur.segments.service", "changes_since")
    if fn is None:
        return []
    return [
        MembershipChange(c.seq, c.segment_key, c.profile_id, c.change, c.at)
        for c in fn(conn, workspace_id=workspace_id, after=after, limit=limit)
    ]


def last_segment_change(conn: Connection, *, workspace_id: str) -> int:
    """The ``seq`` of the newest segment membership change (0 when there is none)."""
    last = 0
    while True:
        page = segment_changes(conn, workspace_id=workspace_id, after=last, limit=10000)
        if not page:
            return last
        last = page[-1].seq


def segment_changes_between(
    conn: Connection,
    *,
    workspace_id: str,
    since: datetime,
    until: datetime,
    segments: set[str],
    upto: int,
) -> list[MembershipChange]:
    """Membership changes of the given segments in a time window (``seq <= upto``), in time
    order (backfill)."""
    found: list[MembershipChange] = []
    after = 0
    while segments and after < upto:
        page = segment_changes(conn, workspace_id=workspace_id, after=after, limit=10000)
        if not page:
            break
        found += [
            c
            for c in page
            if c.seq <= upto and c.segment_key in segments and since <= c.at <= until
        ]
        after = page[-1].seq
    return sorted(found, key=lambda c: (c.at, c.seq))


def audience(conn: Connection, *, workspace_id: str, segment_key: str) -> Iterator[list[str]]:
    """Profile id chunks of a segment (``segments.service.audience``)."""
    fn = _service("partitur.segments.service", "audience")
    if fn is None:
        return iter(())
    chunks: Iterator[list[str]] = fn(conn, workspace_id=workspace_id, segment_key=segment_key)
    return chunks


def next_best_offer(
    conn: Connection, *, workspace_id: str, profile_id: str, placement: str, now: datetime
) -> str | None:
    """The offer key decisioning picks (``decisions.service.next_best_offer``); None (no offer)
    until decisions is on main."""
    fn = _service("partitur.decisions.service", "next_best_offer")
    if fn is None:
        return None
    decision = fn(
        conn, workspace_id=workspace_id, profile_id=profile_id, placement=placement, now=now
    )
    return decision.offer_key if decision is not None else None


def beats_control(control: tuple[int, int], variant: tuple[int, int], significance: float) -> bool:
    """Whether ``variant`` converts significantly better than ``control`` (conversions, n):
    ``analytics.experiments.compare`` when available, else a one-sided two-proportion z-test."""
    compare = _service("partitur.analytics.experiments", "compare")
    if compare is not None:
        result = compare(control=control, variant=variant)
        return bool(result.p_value < significance and result.relative_lift > 0)
    (c1, n1), (c2, n2) = control, variant
    if n1 == 0 or n2 == 0:
        return False
    p1, p2 = c1 / n1, c2 / n2
    pooled = (c1 + c2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return False
    z = (p2 - p1) / se
    p_value = 0.5 * math.erfc(z / math.sqrt(2))
    return p_value < significance


def events_between(
    conn: Connection,
    *,
    workspace_id: str,
    since: datetime,
    until: datetime,
    names: set[str],
    upto: int | None = None,
) -> list[LoggedEvent]:
    """Resolved events of the given names in a time window, in time order (simulation and
    backfill over stored history); ``upto``: only events with ``seq <= upto``."""
    from partitur.events.tables import events

    rows = conn.execute(
        select(
            events.c.seq,
            events.c.profile_id,
            events.c.event,
            events.c.timestamp,
            events.c.properties,
        )
        .where(
            events.c.workspace_id == workspace_id,
            events.c.profile_id.is_not(None),
            events.c.timestamp >= since,
            events.c.timestamp <= until,
            events.c.event.in_(sorted(names)),
            *(() if upto is None else (events.c.seq <= upto,)),
        )
        .order_by(events.c.timestamp, events.c.seq)
    )
    return [
        LoggedEvent(r.seq, r.profile_id, r.event or "", r.timestamp, r.properties or {})
        for r in rows
    ]
