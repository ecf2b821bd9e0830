"""The journeys' feed: new events and segment membership changes as stimuli for the runner.

For a batch, :class:`Feed` loads at once the active instances of the profiles concerned, the
journeys that react and their enrolment records; then it applies one event or segment change
at a time: first to the profile's active instances (exits, goals, waits), then as an entry
trigger. The event and segment-change consumers (``journeys.loops``) call
:func:`process_events` and :func:`process_segment_changes`; a backfill replays history through
the same feed (``journeys.backfill``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection

from partitur.journeys import ports
from partitur.journeys.definition import EventEntry, SegmentEntry
from partitur.journeys.runner import Live, Published, Runner
from partitur.journeys.runtime import EnrolmentRecord, EventOccurred, SegmentChanged, matches


class Feed:
    """Stimuli for a batch: the active instances of the profiles concerned, the journeys that
    react, and the enrolment records, loaded once; then one event or segment change at a time.

    ``only`` restricts the feed to some journeys (a backfill); ``replay`` means the stimuli are
    history being replayed into them (the live rules about what to skip do not apply)."""

    def __init__(
        self,
        runner: Runner,
        profile_ids: Iterable[str],
        *,
        only: set[str] | None = None,
        replay: bool = False,
    ) -> None:
        self.runner = runner
        self.replay = replay
        self.published = [
            p for p in runner.active_journeys() if only is None or p.journey_id in only
        ]
        self.active_ids = {p.journey_id for p in self.published}
        pids = sorted(set(profile_ids))
        self.by_profile: dict[str, list[Live]] = {}
        for live in runner.load_active_instances(pids):
            if live.journey_id in self.active_ids:
                self.by_profile.setdefault(live.state.profile_id, []).append(live)
        self.triggers = [p for p in self.published if isinstance(p.definition.entry, EventEntry)]
        runner.load_profiles(pids)
        self.records: dict[tuple[str, str], EnrolmentRecord] = {}
        for p in self.triggers:
            for i in range(0, len(pids), 500):
                for pid, rec in runner.records(p.journey_id, pids[i : i + 500]).items():
                    self.records[(p.journey_id, pid)] = rec

    def _replayed(self, journey_id: str, seq: int, changes: bool = False) -> bool:
        """Whether a backfill replayed this stimulus into the journey already (live only)."""
        if self.replay:
            return False
        p = next((p for p in self.published if p.journey_id == journey_id), None)
        mark = None if p is None else (p.changes_through if changes else p.events_through)
        return mark is not None and seq <= mark

    def _enrol(self, p: Published, profile_id: str, reason: str, **kw: Any) -> None:
        runner = self.runner
        before = len(runner.enrolled)
        runner.try_enrol(p, profile_id, reason, **kw)
        if len(runner.enrolled) > before:
            self.by_profile.setdefault(profile_id, []).append(runner.enrolled[-1])

    def event(self, ev: ports.LoggedEvent) -> None:
        """Exits, goals and waits of the profile's active instances, then entries."""
        runner = self.runner
        for live in list(self.by_profile.get(ev.profile_id, [])):
            if not live.state.active or live.journey_id not in self.active_ids:
                continue
            if self._replayed(live.journey_id, ev.seq):
                continue
            if (
                ev.event
                in runner.version(
                    live.journey_id, live.state.version
                ).definition.referenced_events()
            ):
                runner.apply(live, EventOccurred(ev.event, ev.properties))
        for p in self.triggers:
            entry = p.definition.entry
            assert isinstance(entry, EventEntry)
            # a journey published today does not enrol people for what they did last month
            # (unless a backfill replays that month into it)
            received_before = (
                not self.replay
                and ev.received_at is not None
                and p.live_since is not None
                and ev.received_at < p.live_since
            )
            if received_before or self._replayed(p.journey_id, ev.seq):
                continue
            if entry.event == ev.event and matches(entry.where, ev.properties):
                self._enrol(
                    p,
                    ev.profile_id,
                    f"event {ev.event}",
                    properties=ev.properties,
                    record=self.records.get((p.journey_id, ev.profile_id)),
                    known=True,
                )

    def segment_change(self, ch: ports.MembershipChange) -> None:
        """Segment exit criteria of the profile's active instances, then segment entries."""
        runner = self.runner
        found = runner.load_active_instances([ch.profile_id])
        mine = {id(lv): lv for lv in found + self.by_profile.get(ch.profile_id, [])}
        change: Literal["entered", "exited"] = "entered" if ch.change == "entered" else "exited"
        for live in mine.values():
            if (
                live.state.active
                and live.journey_id in self.active_ids
                and not self._replayed(live.journey_id, ch.seq, changes=True)
            ):
                runner.apply(live, SegmentChanged(ch.segment_key, change))
        for p in self.published:
            entry = p.definition.entry
            if (
                isinstance(entry, SegmentEntry)
                and entry.segment == ch.segment_key
                and entry.change == ch.change
                and not self._replayed(p.journey_id, ch.seq, changes=True)
            ):
                self._enrol(p, ch.profile_id, f"segment {ch.change} {ch.segment_key}")


def process_events(
    conn: Connection, *, workspace_id: str, events: Sequence[ports.LoggedEvent], now: datetime
) -> int:
    """Evaluate a batch of resolved events at once: exits, goals and ``wait_for_event`` of the
    profiles' active instances first, then event-triggered entries. Returns instance steps."""
    if not events:
        return 0
    runner = Runner(conn, workspace_id=workspace_id, now=now)
    reacting = {name for p in runner.active_journeys() for name in p.definition.referenced_events()}
    relevant = [e for e in events if e.profile_id and e.event in reacting]
    if not relevant:
        return 0
    feed = Feed(runner, (e.profile_id for e in relevant))
    for ev in relevant:
        feed.event(ev)
    runner.flush()
    return runner.steps


def process_segment_changes(
    conn: Connection,
    *,
    workspace_id: str,
    changes: Sequence[ports.MembershipChange],
    now: datetime,
) -> int:
    """Segment entry/exit: exit criteria of active instances, then segment-triggered entries."""
    if not changes:
        return 0
    runner = Runner(conn, workspace_id=workspace_id, now=now)
    feed = Feed(runner, ())
    for ch in changes:
        feed.segment_change(ch)
    runner.flush()
    return runner.steps
