"""What the journey engine asks of other domains, one function per need, each calling that
domain's service (its public face). Keeping them here makes the engine's dependencies one
short list and gives the types the engine uses (snapshots, logged events, membership changes)
one home."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.channels import service as channels
from partitur.channels.contracts import NodeMessages, SendRequest
from partitur.core.actions import Actor
from partitur.core.errors import NotFound
from partitur.core.rules import EventFact
from partitur.decisions import service as decisions
from partitur.events import service as events
from partitur.events.contracts import LoggedEvent
from partitur.identity import service as identity
from partitur.profiles import service as profiles
from partitur.profiles.contracts import ProfileSnapshot
from partitur.segments import service as segments
from partitur.segments.contracts import MembershipChange

__all__ = [
    "LoggedEvent",
    "MembershipChange",
    "ProfileSnapshot",
    "audience",
    "check_template",
    "enqueue_many",
    "events_after",
    "events_between",
    "known_channels",
    "last_segment_change",
    "load_profiles",
    "memberships",
    "next_best_offer",
    "recent_events",
    "require_profiles",
    "resolved_position",
    "segment_changes",
    "segment_changes_between",
    "update_traits",
    "withdraw_sends",
]

log = logging.getLogger(__name__)


def load_profiles(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str]
) -> dict[str, ProfileSnapshot]:
    """Profiles by the id asked for (unknown ones are absent), merges followed."""
    return profiles.snapshots(conn, workspace_id=workspace_id, profile_ids=profile_ids)


def require_profiles(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str], field: str
) -> dict[str, ProfileSnapshot]:
    """Profiles by the id asked for, merges followed; ``NotFound`` naming ``field`` when one
    is unknown in the workspace."""
    return profiles.require_profiles(
        conn, workspace_id=workspace_id, profile_ids=profile_ids, field=field
    )


def update_traits(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    traits: dict[str, Any],
    now: datetime,
    source: str,
) -> None:
    """Set traits (a journey's ``update_profile`` step), as the journeys engine."""
    try:
        profiles.update_traits(
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
    up to ``until``) as rule facts, oldest first."""
    if not names:
        return []
    found = events.profile_event_facts(
        conn, profile_ids=[profile_id], names=names, since=since, until=until
    )
    return found.get(profile_id, [])


def resolved_position(conn: Connection) -> int:
    """The highest event ``seq`` up to which every event has its ``profile_id``."""
    return identity.resolved_position(conn)


def events_after(
    conn: Connection,
    *,
    workspace_id: str,
    after: int,
    upto: int,
    limit: int,
    names: set[str] | None = None,
) -> tuple[list[LoggedEvent], int]:
    """The workspace's resolved events past the engine's cursor in ``seq`` order (only those
    named in ``names`` when given), and the seq up to which the log was read."""
    return events.events_after(
        conn, workspace_id=workspace_id, after=after, upto=upto, limit=limit, names=names
    )


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
    backfill over stored history)."""
    return events.events_between(
        conn, workspace_id=workspace_id, since=since, until=until, names=names, upto=upto
    )


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
    """Withdraw the journeys' sends made before ``created_before`` that are still queued."""
    return channels.withdraw_queued(
        conn,
        workspace_id=workspace_id,
        journey_ids=journey_ids,
        created_before=created_before,
        reason=reason,
        now=now,
    )


def enqueue_many(conn: Connection, *, requests: list[dict[str, Any]], now: datetime) -> None:
    """Hand a batch of sends to the channels outbox inside the caller's transaction (one
    lookup, one multi-row insert, one batch of ``message.queued`` events)."""
    if requests:
        channels.enqueue_many(conn, requests=[SendRequest(**r) for r in requests], now=now)


def known_channels() -> set[str]:
    return set(channels.known_channels())


def check_template(conn: Connection, *, workspace_id: str, key: str, channel: str) -> list[str]:
    """Problems with a template a send step names (checked at publish)."""
    return list(channels.check_template(conn, workspace_id=workspace_id, key=key, channel=channel))


def messages_by_node(
    conn: Connection, *, workspace_id: str, journey_id: str, version: int | None
) -> dict[str, NodeMessages]:
    """The messages each node of the journey sent, by outcome (live, from the outbox)."""
    found = channels.messages_by_node(
        conn, workspace_id=workspace_id, journey_id=journey_id, version=version
    )
    return {m.node_id: m for m in found}


def is_transactional_template(conn: Connection, *, workspace_id: str, key: str) -> bool:
    """Whether an admin marked template ``key`` transactional (its sends may skip consent)."""
    return channels.is_transactional(conn, workspace_id=workspace_id, key=key)


def memberships(conn: Connection, *, workspace_id: str, profile_id: str) -> frozenset[str]:
    return frozenset(segments.memberships(conn, workspace_id=workspace_id, profile_id=profile_id))


def segment_changes(
    conn: Connection, *, workspace_id: str, after: int, limit: int
) -> list[MembershipChange]:
    return segments.changes_since(conn, workspace_id=workspace_id, after=after, limit=limit)


def last_segment_change(conn: Connection, *, workspace_id: str) -> int:
    """The ``seq`` of the newest segment membership change (0 when there is none)."""
    return segments.last_change_seq(conn, workspace_id=workspace_id)


def segment_changes_between(
    conn: Connection,
    *,
    workspace_id: str,
    since: datetime,
    until: datetime,
    segments_of_interest: set[str],
    upto: int,
) -> list[MembershipChange]:
    """Membership changes of the given segments in a time window (``seq <= upto``), in time
    order (backfill)."""
    found: list[MembershipChange] = []
    after = 0
    while segments_of_interest and after < upto:
        page = segment_changes(conn, workspace_id=workspace_id, after=after, limit=10000)
        if not page:
            break
        found += [
            c
            for c in page
            if c.seq <= upto and c.segment_key in segments_of_interest and since <= c.at <= until
        ]
        after = page[-1].seq
    return sorted(found, key=lambda c: (c.at, c.seq))


def audience(conn: Connection, *, workspace_id: str, segment_key: str) -> Iterator[list[str]]:
    """Profile id chunks of a segment."""
    return segments.audience(conn, workspace_id=workspace_id, segment_key=segment_key)


def next_best_offer(
    conn: Connection, *, workspace_id: str, profile_id: str, placement: str, now: datetime
) -> str | None:
    """The offer key decisioning picks for the placement (None: no offer)."""
    decision = decisions.next_best_offer(
        conn, workspace_id=workspace_id, profile_id=profile_id, placement=placement, now=now
    )
    return decision.offer_key if decision is not None else None
