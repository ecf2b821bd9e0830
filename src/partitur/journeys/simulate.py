"""Simulation: run a journey over past events with a virtual clock, sending nothing.

The driver here is pure (it feeds stimuli to :func:`runtime.step` in time order, firing timers
as the virtual clock passes them); the CLI loads stored history or an event file and prints the
per-node counts and the paths of sample profiles. Unit tests of the runtime use the same driver.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from partitur.core.clock import VirtualClock, isoformat
from partitur.core.rules import EventFact, ProfileFacts, evaluate
from partitur.journeys.definition import EventEntry, JourneyDefinition
from partitur.journeys.runtime import (
    Command,
    Decide,
    DecisionMade,
    EnrolmentRecord,
    Enter,
    EventOccurred,
    InstanceState,
    ProfileView,
    Send,
    Stimulus,
    TimerFired,
    Transition,
    UpdateProfile,
    admit,
    matches,
    step,
)


@dataclass(frozen=True)
class SimEvent:
    profile_id: str
    event: str
    timestamp: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class SimProfile:
    profile_id: str
    traits: dict[str, Any] = field(default_factory=dict)
    computed: dict[str, Any] = field(default_factory=dict)
    timezone: str | None = None
    segments: frozenset[str] = frozenset()


@dataclass
class ProfileRun:
    """One profile's run: its instances (final states), transitions and commands."""

    profile_id: str
    instances: list[InstanceState] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    def path(self) -> list[str]:
        return [t.node if t.node is not None else f"end:{t.reason}" for t in self.transitions]

    @property
    def sends(self) -> list[Send]:
        return [c for c in self.commands if isinstance(c, Send)]


Decider = Callable[[str, str, datetime], str | None]


def run_profile(
    definition: JourneyDefinition,
    profile: SimProfile,
    events: Sequence[SimEvent],
    *,
    start: datetime,
    end: datetime,
    enrol_at: datetime | None = None,
    decide: Decider | None = None,
    winners: Mapping[str, str] | None = None,
) -> ProfileRun:
    """Drive one profile through ``definition`` from ``start`` to ``end`` on a virtual clock.

    Event-triggered journeys enrol on matching events (re-entry policy applies); other entry
    types enrol at ``enrol_at`` (default ``start``). Updates from ``update_profile`` nodes are
    applied to the simulated profile; ``decide`` answers decide nodes (default: no offer).
    """
    clock = VirtualClock(start)
    run = ProfileRun(profile.profile_id)
    history: list[EventFact] = []
    state: InstanceState | None = None
    record: EnrolmentRecord | None = None
    counter = 0
    pending = sorted(events, key=lambda e: e.timestamp)
    manual_at = enrol_at or start
    manual_done = isinstance(definition.entry, EventEntry)

    def view() -> ProfileView:
        facts = ProfileFacts(
            traits=profile.traits,
            computed=profile.computed,
            recent_events=tuple(history),
            segments=profile.segments,
        )
        return ProfileView(profile.profile_id, facts, profile.traits, profile.timezone)

    def apply(stimulus: Stimulus) -> None:
        nonlocal state
        assert state is not None
        now = clock.now()
        todo: list[Stimulus] = [stimulus]
        while todo and state is not None:
            state, commands = step(
                state, definition, todo.pop(0), now, profile=view(), winners=winners
            )
            for c in commands:
                run.commands.append(c)
                if isinstance(c, Transition):
                    run.transitions.append(c)
                elif isinstance(c, UpdateProfile):
                    profile.traits.update(c.traits)
                elif isinstance(c, Decide):
                    offer = decide(profile.profile_id, c.placement, now) if decide else None
                    todo.append(DecisionMade(c.node, offer))
        if state is not None and not state.active:
            run.instances.append(state)

    def enrol(reason: str, properties: Mapping[str, Any]) -> None:
        nonlocal state, record, counter
        now = clock.now()
        active = state is not None and state.active
        if record is not None:
            record = EnrolmentRecord(record.last_entered_at, active)
        ok, _ = admit(definition, record, now)
        if not ok:
            return
        cond = definition.entry.condition
        if cond is not None and not evaluate(cond, view().facts, now):
            return
        counter += 1
        state = InstanceState(
            instance_id=f"sim-{profile.profile_id}-{counter}",
            journey_key=definition.key,
            version=0,
            profile_id=profile.profile_id,
            entered_at=now,
        )
        record = EnrolmentRecord(now, True)
        apply(Enter(reason, properties))

    def fire_due(limit: datetime) -> None:
        while state is not None and state.active and state.waiting is not None:
            due = state.waiting.until
            if due > limit:
                return
            clock.set(max(due, clock.now()))
            apply(TimerFired(state.waiting.node, state.waiting.token))

    for ev in pending:
        if ev.timestamp > end:
            break
        if not manual_done and manual_at <= ev.timestamp:
            clock.set(max(manual_at, clock.now()))
            enrol("enrolled", {})
            manual_done = True
        fire_due(ev.timestamp)
        clock.set(max(ev.timestamp, clock.now()))
        history.append(EventFact(ev.event, ev.timestamp, dict(ev.properties)))
        if state is not None and state.active:
            apply(EventOccurred(ev.event, ev.properties))
        entry = definition.entry
        if (
            isinstance(entry, EventEntry)
            and entry.event == ev.event
            and matches(entry.where, ev.properties)
        ):
            enrol(f"event {ev.event}", ev.properties)
    if not manual_done and manual_at <= end:
        clock.set(max(manual_at, clock.now()))
        enrol("enrolled", {})
    fire_due(end)
    if state is not None and state.active:
        run.instances.append(state)
    return run


@dataclass
class SimulationReport:
    journey: str
    profiles: int
    entered: int
    #: profiles that entered at least once
    audience: int
    node_counts: dict[str, int]
    outcomes: dict[str, int]
    sends: dict[str, int]
    samples: dict[str, list[dict[str, Any]]]

    def to_json(self) -> dict[str, Any]:
        return {
            "journey": self.journey,
            "profiles": self.profiles,
            "entered": self.entered,
            "audience": self.audience,
            "node_counts": self.node_counts,
            "outcomes": self.outcomes,
            "sends": self.sends,
            "samples": self.samples,
        }


def simulate(
    definition: JourneyDefinition,
    profiles: Iterable[SimProfile],
    events: Sequence[SimEvent],
    *,
    start: datetime,
    end: datetime,
    samples: int = 5,
    decide: Decider | None = None,
) -> SimulationReport:
    """Run every profile; count node entries, outcomes and would-be sends."""
    by_profile: dict[str, list[SimEvent]] = {}
    for ev in events:
        by_profile.setdefault(ev.profile_id, []).append(ev)
    node_counts: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    sends: Counter[str] = Counter()
    sample_paths: dict[str, list[dict[str, Any]]] = {}
    entered = 0
    audience = 0
    n = 0
    for profile in profiles:
        n += 1
        run = run_profile(
            definition,
            profile,
            by_profile.get(profile.profile_id, []),
            start=start,
            end=end,
            decide=decide,
        )
        entered += len(run.instances)
        audience += 1 if run.instances else 0
        for t in run.transitions:
            if t.node is not None:
                node_counts[t.node] += 1
        for inst in run.instances:
            outcomes[inst.status] += 1
        for s in run.sends:
            sends[f"{s.channel}:{s.template}"] += 1
        if run.instances and len(sample_paths) < samples:
            sample_paths[profile.profile_id] = [
                {"at": isoformat(t.at), "node": t.node, "reason": t.reason} for t in run.transitions
            ]
    return SimulationReport(
        journey=definition.key,
        profiles=n,
        entered=entered,
        audience=audience,
        node_counts=dict(node_counts),
        outcomes=dict(outcomes),
        sends=dict(sends),
        samples=sample_paths,
    )
