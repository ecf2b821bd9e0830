"""The imperative shell around the pure journey ``step``.

A :class:`Runner` loads instance state, calls :func:`runtime.step` for each stimulus, executes
the commands it returns (transitions, timers, sends, profile updates, decisions, jumps) and
writes everything it collected in the caller's ONE transaction (``flush``), so a worker killed
at any instant leaves either all of a batch of steps or none of it. The feed (events, segment
changes), the timer scheduler, enrolment and backfill all drive instances through it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from partitur.core.errors import Conflict
from partitur.core.ids import new_id
from partitur.core.rules import (
    ProfileFacts,
    evaluate,
    longest_window,
    referenced_events,
    referenced_segments,
)
from partitur.journeys import ports, repository
from partitur.journeys.definition import JourneyDefinition
from partitur.journeys.runtime import (
    CancelTimers,
    Decide,
    DecisionMade,
    EnrolInJourney,
    EnrolmentRecord,
    Enter,
    InstanceState,
    ProfileView,
    ScheduleTimer,
    Send,
    Stimulus,
    TimerFired,
    Transition,
    UpdateProfile,
    admit,
    step,
)
from partitur.storage.engine import notify_after_commit

log = logging.getLogger(__name__)

#: How many journeys one stimulus may move a profile through by jumps (``jump: {journey}``);
#: publishing refuses a cycle it can see, this stops one made of later changes.
MAX_JOURNEY_JUMPS = 8

#: The pseudo node of the timer that starts a bulk-enrolled (audience) instance.
ENTER_NODE = "__enter__"


@dataclass
class Live:
    """An instance loaded into (or created in) a runner."""

    journey_id: str
    state: InstanceState
    rev: int
    is_new: bool
    is_test: bool = False
    dirty: bool = False


@dataclass(frozen=True)
class Published:
    """A published version of a journey as the runner steps it (loaded once per runner)."""

    journey_id: str
    key: str
    version: int
    status: str
    test_mode: bool
    definition: JourneyDefinition
    winners: dict[str, str]
    #: when the journey's first version was published; older events never enrol
    live_since: datetime | None = None
    #: a backfill replayed events / segment changes up to these ``seq`` into the journey
    events_through: int | None = None
    changes_through: int | None = None


def _state_from_row(row: Any, key: str) -> InstanceState:
    doc = row.state or {}
    return InstanceState(
        instance_id=row.id,
        journey_key=key,
        version=row.version,
        profile_id=row.profile_id,
        entered_at=row.entered_at,
        status=row.status,
        current_node=row.current_node,
        waiting=InstanceState.waiting_from_json(doc),
        visits=doc.get("visits", {}),
        jumps=doc.get("jumps", {}),
        split_variants=row.split_variants or {},
        tokens=int(doc.get("tokens", 0)),
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        converted_at=row.converted_at,
        revenue=row.revenue,
    )


class Runner:
    """One transaction's worth of steps: collects writes and flushes them in bulk."""

    def __init__(
        self, conn: Connection, *, workspace_id: str, now: datetime, replaying: bool = False
    ) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.now = now
        #: replaying history on a virtual clock: rules see no event later than ``now``
        self.replaying = replaying
        self._versions: dict[tuple[str, int], Published] = {}
        self._profiles: dict[str, ports.ProfileSnapshot] = {}
        self.live: dict[str, Live] = {}
        self.transitions: list[dict[str, Any]] = []
        self.timers: list[dict[str, Any]] = []
        self.cancel: set[str] = set()
        self.sends: list[dict[str, Any]] = []
        self.enrolled: list[Live] = []
        self.steps = 0
        self.entries_last_minute: Counter[str] = Counter()
        self._throttle_loaded: set[str] = set()
        #: the newest instance per (journey, profile) created by this runner
        self._latest: dict[tuple[str, str], Live] = {}
        #: journeys a profile was moved through by jumps in the stimulus being handled
        self._jump_chain: list[str] = []

    # -- loading --

    def version(self, journey_id: str, version: int) -> Published:
        key = (journey_id, version)
        if key not in self._versions:
            row = repository.published_version(self.conn, journey_id=journey_id, version=version)
            self._versions[key] = Published(
                journey_id,
                row.key,
                version,
                row.status,
                bool(row.test_mode),
                JourneyDefinition.model_validate(row.definition),
                dict(row.winners or {}),
                row.live_since,
                row.replayed_events_through,
                row.replayed_changes_through,
            )
        return self._versions[key]

    def active_journeys(self) -> list[Published]:
        """The latest version of each active journey of the workspace."""
        rows = repository.active_journey_versions(self.conn, workspace_id=self.workspace_id)
        return [self.version(r.id, r.latest_version) for r in rows]

    def load_profiles(self, profile_ids: Iterable[str]) -> None:
        missing = [p for p in dict.fromkeys(profile_ids) if p not in self._profiles]
        if missing:
            found = ports.load_profiles(
                self.conn, workspace_id=self.workspace_id, profile_ids=missing
            )
            for pid in missing:
                self._profiles[pid] = found.get(
                    pid, ports.ProfileSnapshot(id=pid, workspace_id=self.workspace_id)
                )

    def profile(self, profile_id: str) -> ports.ProfileSnapshot:
        self.load_profiles([profile_id])
        return self._profiles[profile_id]

    def load_instances(self, instance_ids: Sequence[str]) -> list[Live]:
        """The instances with these ids (each loaded once per runner)."""
        return self._adopt(repository.instance_rows(self.conn, instance_ids))

    def load_active_instances(self, profile_ids: Sequence[str]) -> list[Live]:
        """The active instances of these profiles, in any journey."""
        return self._adopt(repository.active_instance_rows(self.conn, profile_ids))

    def _adopt(self, rows: Sequence[Any]) -> list[Live]:
        out = []
        for r in rows:
            if r.id in self.live:
                out.append(self.live[r.id])
                continue
            published = self.version(r.journey_id, r.version)
            live = Live(r.journey_id, _state_from_row(r, published.key), r.rev, False, r.is_test)
            self.live[r.id] = live
            out.append(live)
        return out

    def view(self, profile_id: str, definition: JourneyDefinition) -> ProfileView:
        snap = self.profile(profile_id)
        rules = definition.rules()
        names: set[str] = set().union(*(referenced_events(r) for r in rules)) if rules else set()
        segs: set[str] = set().union(*(referenced_segments(r) for r in rules)) if rules else set()
        history = []
        if names:
            windows = [longest_window(r) for r in rules if referenced_events(r)]
            since = (
                None
                if any(w is None for w in windows)
                else self.now - max(w for w in windows if w is not None)
            )
            history = ports.recent_events(
                self.conn,
                profile_id=profile_id,
                names=names,
                since=since,
                until=self.now if self.replaying else None,
            )
        segments = (
            ports.memberships(self.conn, workspace_id=self.workspace_id, profile_id=profile_id)
            if segs
            else frozenset()
        )
        facts = ProfileFacts(snap.traits, snap.computed, tuple(history), segments)
        return ProfileView(profile_id, facts, snap.traits, snap.timezone)

    # -- stepping --

    def apply(self, live: Live, stimulus: Stimulus) -> None:
        published = self.version(live.journey_id, live.state.version)
        definition = published.definition
        view = self.view(live.state.profile_id, definition)
        todo: list[Stimulus] = [stimulus]
        while todo:
            state, commands = step(
                live.state,
                definition,
                todo.pop(0),
                self.now,
                profile=view,
                winners=published.winners,
            )
            self.steps += 1
            live.state = state
            live.dirty = True
            for c in commands:
                if isinstance(c, Transition):
                    self.transitions.append(
                        {
                            "workspace_id": self.workspace_id,
                            "instance_id": state.instance_id,
                            "journey_id": live.journey_id,
                            "version": state.version,
                            "node_id": c.node,
                            "from_node": c.from_node,
                            "at": c.at,
                            "reason": c.reason[:2000],
                        }
                    )
                elif isinstance(c, Send):
                    request = self._send_request(live, c)
                    if self.replaying:
                        # made at this moment of the virtual clock, never before its trigger
                        request["occurred_at"] = self.now
                    self.sends.append(request)
                elif isinstance(c, ScheduleTimer):
                    self.timers.append(
                        {
                            "workspace_id": self.workspace_id,
                            "instance_id": state.instance_id,
                            "node_id": c.node,
                            "token": c.token,
                            "due_at": c.due,
                        }
                    )
                elif isinstance(c, CancelTimers):
                    self.cancel.add(state.instance_id)
                elif isinstance(c, UpdateProfile):
                    ports.update_traits(
                        self.conn,
                        workspace_id=self.workspace_id,
                        profile_id=state.profile_id,
                        traits=dict(c.traits),
                        now=self.now,
                        source=f"journey:{published.key}",
                    )
                    self.profile(state.profile_id).traits.update(c.traits)
                    view = self.view(state.profile_id, definition)
                elif isinstance(c, Decide):
                    offer = ports.next_best_offer(
                        self.conn,
                        workspace_id=self.workspace_id,
                        profile_id=state.profile_id,
                        placement=c.placement,
                        now=self.now,
                    )
                    todo.append(DecisionMade(c.node, offer))
                elif isinstance(c, EnrolInJourney):
                    target = repository.active_journey_by_key(
                        self.conn, workspace_id=self.workspace_id, key=c.journey_key
                    )
                    if target is None or target.latest_version is None:
                        continue
                    if len(self._jump_chain) >= MAX_JOURNEY_JUMPS:
                        # journeys that jump into each other: stop here instead of recursing
                        # until the stack runs out (which stalled every journey of the loop)
                        log.warning(
                            "journey jump limit reached profile=%s chain=%s",
                            state.profile_id,
                            " -> ".join([*self._jump_chain, c.journey_key]),
                        )
                        continue
                    self._jump_chain.append(published.key)
                    try:
                        self.try_enrol(
                            self.version(target.id, target.latest_version),
                            state.profile_id,
                            f"jump from {published.key}",
                        )
                    finally:
                        self._jump_chain.pop()

    def _send_request(self, live: Live, c: Send) -> dict[str, Any]:
        return {
            "idempotency_key": c.idempotency_key,
            "workspace_id": self.workspace_id,
            "profile_id": live.state.profile_id,
            "channel": c.channel,
            "template": c.template,
            "payload": dict(c.payload),
            "data": dict(c.data),
            "category": c.category,
            "journey_id": live.journey_id,
            "journey_version": live.state.version,
            "instance_id": live.state.instance_id,
            "node_id": c.node,
            "priority": c.priority,
            "not_before": None,
        }

    def records(self, journey_id: str, profile_ids: Sequence[str]) -> dict[str, EnrolmentRecord]:
        """The stored enrolment records of these profiles in the journey."""
        return repository.enrolment_records(
            self.conn, journey_id=journey_id, profile_ids=profile_ids
        )

    def try_enrol(
        self,
        published: Published,
        profile_id: str,
        reason: str,
        properties: dict[str, Any] | None = None,
        record: EnrolmentRecord | None = None,
        known: bool = False,
    ) -> str:
        """Enrol one profile if the journey admits it; returns the reason either way."""
        if published.status != "active":
            return f"journey {published.status}"
        snap = self.profile(profile_id)
        if published.test_mode and not snap.is_test:
            return "test mode: not a test profile"
        # the latest word on this profile within this batch wins over the stored record
        last = self._latest.get((published.journey_id, profile_id))
        if last is not None:
            record = EnrolmentRecord(last.state.entered_at, last.state.active)
        elif not known:
            record = self.records(published.journey_id, [profile_id]).get(profile_id)
        if published.definition.throttle and published.journey_id not in self._throttle_loaded:
            self._throttle_loaded.add(published.journey_id)
            self.entries_last_minute[published.journey_id] = repository.entries_since(
                self.conn,
                journey_id=published.journey_id,
                since=self.now - timedelta(minutes=1),
            )
        ok, why = admit(
            published.definition,
            record,
            self.now,
            entries_last_minute=self.entries_last_minute[published.journey_id],
        )
        if not ok:
            return why
        condition = published.definition.entry.condition
        if condition is not None and not evaluate(
            condition, self.view(profile_id, published.definition).facts, self.now
        ):
            return "entry condition not met"
        self.entries_last_minute[published.journey_id] += 1
        state = InstanceState(
            instance_id=new_id("jin"),
            journey_key=published.key,
            version=published.version,
            profile_id=profile_id,
            entered_at=self.now,
        )
        live = Live(published.journey_id, state, 0, True, snap.is_test)
        self.live[state.instance_id] = live
        self.enrolled.append(live)
        self._latest[(published.journey_id, profile_id)] = live
        self.apply(live, Enter(reason, properties or {}))
        return "entered"

    # -- writing --

    def flush(self) -> None:
        """Write everything collected, in the caller's transaction."""
        conn = self.conn
        new_rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for live in self.live.values():
            if not live.dirty:
                continue
            s = live.state
            values = {
                "status": s.status,
                "ended_at": s.ended_at,
                "end_reason": s.end_reason,
                "current_node": s.current_node,
                "converted_at": s.converted_at,
                "revenue": s.revenue,
                "split_variants": dict(s.split_variants),
                "state": s.to_json(),
            }
            if live.is_new:
                new_rows.append(
                    {
                        "id": s.instance_id,
                        "workspace_id": self.workspace_id,
                        "journey_id": live.journey_id,
                        "version": s.version,
                        "profile_id": s.profile_id,
                        "entered_at": s.entered_at,
                        "rev": 1,
                        "is_test": live.is_test,
                        **values,
                    }
                )
            else:
                updates.append({"id": s.instance_id, "rev": live.rev, **values})
            live.rev += 1
            live.is_new = False
            live.dirty = False
        updated = repository.update_instances(conn, updates)
        if updated != len(updates):
            raise Conflict("a journey instance changed concurrently; retry")
        repository.insert_instances(conn, new_rows)
        repository.insert_transitions(conn, self.transitions)
        ended = {i for i, lv in self.live.items() if not lv.state.active}
        drop = self.cancel | ended
        if drop:
            repository.delete_timers_of(conn, sorted(drop))
        timers = [
            t
            for t in self.timers
            if (w := self.live[t["instance_id"]].state.waiting) is not None
            and w.token == t["token"]
            and self.live[t["instance_id"]].state.active
        ]
        repository.insert_timers(conn, timers)
        if timers:
            notify_after_commit(conn, "timers")  # the timer loop may sleep past a short wait
        ports.enqueue_many(conn, requests=self.sends, now=self.now)
        self._write_enrolments(ended)
        self.transitions, self.timers, self.sends, self.enrolled = [], [], [], []
        self._latest = {}
        self.cancel = set()

    def _write_enrolments(self, ended: set[str]) -> None:
        conn = self.conn
        latest: dict[tuple[str, str], Live] = {}
        counts: Counter[tuple[str, str]] = Counter()
        for live in self.enrolled:
            key = (live.journey_id, live.state.profile_id)
            latest[key] = live
            counts[key] += 1
        if latest:
            existing: set[tuple[str, str]] = set()
            by_journey: dict[str, list[str]] = {}
            for jid, pid in latest:
                by_journey.setdefault(jid, []).append(pid)
            for jid, pids in by_journey.items():
                found = repository.enrolled_profiles(conn, journey_id=jid, profile_ids=pids)
                existing |= {(jid, pid) for pid in found}
            inserts = []
            for key, live in latest.items():
                active_id = live.state.instance_id if live.state.active else None
                if key in existing:
                    repository.add_entries(
                        conn,
                        journey_id=key[0],
                        profile_id=key[1],
                        entries=counts[key],
                        last_entered_at=live.state.entered_at,
                        active_instance_id=active_id,
                    )
                else:
                    inserts.append(
                        {
                            "journey_id": key[0],
                            "profile_id": key[1],
                            "workspace_id": self.workspace_id,
                            "entries": counts[key],
                            "last_entered_at": live.state.entered_at,
                            "active_instance_id": active_id,
                        }
                    )
            repository.insert_enrolments(conn, inserts)
        enrolled_now = {lv.state.instance_id for lv in self.enrolled}
        finished = [
            (lv.journey_id, lv.state.profile_id, lv.state.instance_id)
            for iid in sorted(ended - enrolled_now)
            if (lv := self.live[iid])
        ]
        repository.clear_active_instances(conn, finished)


# --- the timer scheduler's pass --------------------------------------------------------------


def fire_timers(conn: Connection, *, workspace_id: str, now: datetime, limit: int = 1000) -> int:
    """Fire up to ``limit`` due timers (oldest first) of active journeys; returns timers fired."""
    due = repository.due_timers(conn, workspace_id=workspace_id, now=now, limit=limit)
    if not due:
        return 0
    runner = Runner(conn, workspace_id=workspace_id, now=now)
    runner.load_instances(sorted({t.instance_id for t in due}))
    runner.load_profiles({lv.state.profile_id for lv in runner.live.values()})
    for t in due:
        live = runner.live.get(t.instance_id)
        if live is None or not live.state.active:
            continue
        if t.node_id == ENTER_NODE and live.state.current_node is None:
            live.state = replace(live.state, waiting=None)
            runner.apply(live, Enter("audience"))
        else:
            runner.apply(live, TimerFired(t.node_id, t.token))
    repository.delete_timers(conn, [t.id for t in due])
    runner.flush()
    return len(due)
