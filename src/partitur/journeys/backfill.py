"""Backfill: run newly published journeys over the recent past, as if they had been live.

A journey reacts only to what arrives after it is published. ``backfill`` replays the stored
history of a window (events and segment changes) through the ordinary runner on a virtual
clock, window by window (one transaction each): people enter, wait, branch, convert, exit and
complete at the times they would have, and sends land in the channels outbox at the time they
were made. Those sends are withdrawn afterwards (status ``suppressed``, "replayed history"):
nobody should get weeks-old reminders, and journey KPIs count them as not sent; with
``deliver=True`` (the demo, to show deliveries) they stay queued and the dispatcher sends them.
The journeys remember up to where history was replayed, so the live consumers do not apply it
to them a second time, and a journey is backfilled at most once.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.errors import ValidationFailed
from partitur.journeys import ports, repository, service
from partitur.journeys.contracts import BackfillResult
from partitur.journeys.definition import JourneyDefinition, SegmentEntry
from partitur.journeys.feed import Feed
from partitur.journeys.runner import ENTER_NODE, Runner
from partitur.journeys.runtime import Enter, TimerFired

#: Virtual time replayed per transaction.
WINDOW = timedelta(hours=6)

Progress = Callable[[datetime], None]


def _segments(definition: JourneyDefinition) -> set[str]:
    """Segments whose changes move the journey: its segment entry and segment exits."""
    keys = {e.segment for e in definition.exits if e.segment}
    if isinstance(definition.entry, SegmentEntry):
        keys.add(definition.entry.segment)
    return {k for k in keys if k}


def backfill(
    ctx: Context,
    *,
    keys: Sequence[str],
    since: datetime,
    until: datetime | None = None,
    workspace_id: str | None = None,
    actor: Actor,
    progress: Progress | None = None,
    deliver: bool = False,
) -> BackfillResult:
    """Replay ``[since, until]`` (default: until now) into the published journeys ``keys``.

    Raises ``NotFound`` for an unknown journey, ``Conflict`` for one that is not active, has
    instances or was backfilled already, ``ValidationFailed`` for a window not in the past."""
    began = time.perf_counter()
    workspace = workspace_id or ctx.workspace_id
    now = ctx.clock.now()
    until = min(until or now, now)
    if not keys:
        raise ValidationFailed("name at least one journey", field="journeys")
    if since.tzinfo is None:
        raise ValidationFailed("the start needs a time zone", field="since")
    with ctx.store.begin() as conn:
        plan = service.begin_backfill(
            conn, workspace_id=workspace, keys=keys, since=since, now=now, actor=actor
        )
        definitions = [
            service.load_definition(conn, workspace_id=workspace, key=key)
            for key in plan.journey_ids
        ]
    names: set[str] = set()
    segments: set[str] = set()
    for definition in definitions:
        names |= set(definition.referenced_events())
        segments |= _segments(definition)
    with ctx.store.read() as conn:
        events = ports.events_between(
            conn,
            workspace_id=workspace,
            since=since,
            until=until,
            names=names,
            upto=plan.events_through,
        )
        changes = ports.segment_changes_between(
            conn,
            workspace_id=workspace,
            since=since,
            until=until,
            segments_of_interest=segments,
            upto=plan.changes_through,
        )
    journey_ids = set(plan.journey_ids.values())
    steps = e = c = 0
    start = since
    while start <= until:
        end = min(start + WINDOW, until + timedelta(microseconds=1))
        e_to = e
        while e_to < len(events) and events[e_to].timestamp < end:
            e_to += 1
        c_to = c
        while c_to < len(changes) and changes[c_to].at < end:
            c_to += 1
        with ctx.store.begin() as conn:
            steps += replay_window(
                conn,
                workspace_id=workspace,
                journey_ids=journey_ids,
                events=events[e:e_to],
                changes=changes[c:c_to],
                start=start,
                end=end,
            )
        e, c, start = e_to, c_to, end
        if progress is not None:
            progress(start)
    withdrawn = 0
    if not deliver:
        with ctx.store.begin() as conn:
            withdrawn = ports.withdraw_sends(
                conn,
                workspace_id=workspace,
                journey_ids=sorted(journey_ids),
                created_before=until + timedelta(microseconds=1),
                reason="replayed history (journeys backfill): not delivered",
                now=ctx.clock.now(),
            )
    with ctx.store.read() as conn:
        instances = {
            key: service.outcome_counts(conn, workspace_id=workspace, key=key)
            for key in plan.journey_ids
        }
    return BackfillResult(
        journeys=list(plan.journey_ids),
        since=since,
        until=until,
        events=len(events),
        segment_changes=len(changes),
        steps=steps,
        withdrawn_sends=withdrawn,
        instances=instances,
        seconds=round(time.perf_counter() - began, 2),
    )


def replay_window(
    conn: Connection,
    *,
    workspace_id: str,
    journey_ids: set[str],
    events: Sequence[ports.LoggedEvent],
    changes: Sequence[ports.MembershipChange],
    start: datetime,
    end: datetime,
) -> int:
    """Replay one window ``[start, end)`` of history into the given journeys through the
    ordinary runner: the events and segment changes of the window and every timer that falls
    due in it (also those the window itself schedules), strictly in time order, each at its
    own time on a virtual clock. Writes everything in the caller's transaction; returns steps.
    """
    runner = Runner(conn, workspace_id=workspace_id, now=start, replaying=True)
    pids = {e.profile_id for e in events} | {c.profile_id for c in changes}
    feed = Feed(runner, pids, only=journey_ids, replay=True)
    if not feed.published:
        return 0
    ids = sorted(journey_ids)
    stored = repository.timers_due_before(conn, journey_ids=ids, before=end)
    runner.load_instances(sorted({t.instance_id for t in stored}))
    runner.load_profiles({lv.state.profile_id for lv in runner.live.values()})
    # (time, order at equal times: timers, segment changes, events; tie-breaker, item)
    queue: list[tuple[datetime, int, int, Any]] = []
    for t in stored:
        queue.append((t.due_at, 0, t.id, (t.instance_id, t.node_id, t.token)))
    for ch in changes:
        queue.append((ch.at, 1, ch.seq, ch))
    for ev in events:
        queue.append((ev.timestamp, 2, ev.seq, ev))
    heapq.heapify(queue)
    scheduled = len(runner.timers)
    made = 0
    while queue:
        at, kind, _, item = heapq.heappop(queue)
        runner.now = max(at, runner.now)
        if kind == 0:
            instance_id, node_id, token = item
            live = runner.live.get(instance_id)
            if live is not None and live.state.active:
                if node_id == ENTER_NODE and live.state.current_node is None:
                    live.state = replace(live.state, waiting=None)
                    runner.apply(live, Enter("audience"))
                elif live.state.waiting is not None and live.state.waiting.token == token:
                    runner.apply(live, TimerFired(node_id, token))
        elif kind == 1:
            feed.segment_change(item)
        else:
            feed.event(item)
        # timers this step scheduled that fall due inside the window fire here too
        for timer in runner.timers[scheduled:]:
            if timer["due_at"] < end:
                made -= 1
                what = (timer["instance_id"], timer["node_id"], timer["token"])
                heapq.heappush(queue, (timer["due_at"], 0, made, what))
        scheduled = len(runner.timers)
    repository.delete_timers(conn, [t.id for t in stored])
    runner.flush()
    return runner.steps
