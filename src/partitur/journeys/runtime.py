"""The pure journey runtime: ``step(state, definition, stimulus, now, profile=...)``.

``step`` takes an instance's state, the journey version it runs on, one stimulus (it entered, a
timer fired, an event happened, decisioning answered, the journey was stopped) and the time, and
returns the new state plus the commands the imperative shell must carry out in the same
transaction (sends, profile updates, timers, transitions to record). No I/O, no clock, no
randomness: split assignment hashes profile id + journey key + node id, so it is deterministic
and sticky across re-entries and versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from partitur.core.durations import parse_duration
from partitur.core.rules import Facts, ProfileFacts, PropertyFilter, compare, evaluate, lookup
from partitur.journeys.definition import (
    CONTROL_GROUP,
    AgentTaskNode,
    BranchNode,
    DecideNode,
    ExitNode,
    JourneyDefinition,
    JumpNode,
    Node,
    SendNode,
    SplitNode,
    UpdateProfileNode,
    WaitForEventNode,
    WaitNode,
    WebhookNode,
)

Status = Literal["active", "completed", "exited", "converted"]
#: A step never executes more nodes than this (validation forbids unbraked loops; this is a
#: last line of defence against a definition that slipped through).
MAX_NODES_PER_STEP = 500


# --- state, stimuli, commands --------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """What an instance waits for at ``node``: a timer due at ``until`` (``token`` tells a
    current timer from a stale one) and, for ``wait_for_event``, the ``event``."""

    node: str
    kind: Literal["timer", "event"]
    until: datetime
    token: int
    event: str | None = None


@dataclass(frozen=True)
class InstanceState:
    instance_id: str
    journey_key: str
    version: int
    profile_id: str
    entered_at: datetime
    status: Status = "active"
    current_node: str | None = None
    waiting: Waiting | None = None
    visits: Mapping[str, int] = field(default_factory=dict)
    jumps: Mapping[str, int] = field(default_factory=dict)
    split_variants: Mapping[str, str] = field(default_factory=dict)
    tokens: int = 0
    ended_at: datetime | None = None
    end_reason: str | None = None
    converted_at: datetime | None = None
    revenue: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    def to_json(self) -> dict[str, Any]:
        w = self.waiting
        return {
            "waiting": None
            if w is None
            else {
                "node": w.node,
                "kind": w.kind,
                "until": w.until.isoformat(),
                "token": w.token,
                "event": w.event,
            },
            "visits": dict(self.visits),
            "jumps": dict(self.jumps),
            "tokens": self.tokens,
        }

    @staticmethod
    def waiting_from_json(doc: Mapping[str, Any] | None) -> Waiting | None:
        w = (doc or {}).get("waiting")
        if not w:
            return None
        return Waiting(
            node=w["node"],
            kind=w["kind"],
            until=datetime.fromisoformat(w["until"]).astimezone(UTC),
            token=int(w["token"]),
            event=w.get("event"),
        )


@dataclass(frozen=True)
class Enter:
    """The instance was just created (enrolment). ``event`` carries the triggering event."""

    reason: str = "entered"
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimerFired:
    node: str
    token: int


@dataclass(frozen=True)
class EventOccurred:
    event: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SegmentChanged:
    segment: str
    change: Literal["entered", "exited"]


@dataclass(frozen=True)
class DecisionMade:
    node: str
    offer_key: str | None


@dataclass(frozen=True)
class Stop:
    reason: str = "journey stopped"


Stimulus = Enter | TimerFired | EventOccurred | SegmentChanged | DecisionMade | Stop


@dataclass(frozen=True)
class Transition:
    """Record: the instance moved to ``node`` (None: it ended) for ``reason``."""

    node: str | None
    from_node: str | None
    at: datetime
    reason: str


@dataclass(frozen=True)
class Send:
    node: str
    channel: str
    template: str
    idempotency_key: str
    category: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    priority: int = 0


@dataclass(frozen=True)
class UpdateProfile:
    node: str
    traits: Mapping[str, Any]


@dataclass(frozen=True)
class ScheduleTimer:
    node: str
    due: datetime
    token: int


@dataclass(frozen=True)
class CancelTimers:
    pass


@dataclass(frozen=True)
class Decide:
    node: str
    placement: str


@dataclass(frozen=True)
class EnrolInJourney:
    node: str
    journey_key: str


Command = Transition | Send | UpdateProfile | ScheduleTimer | CancelTimers | Decide | EnrolInJourney


@dataclass(frozen=True)
class ProfileView:
    """What the step may know about the profile: rule facts, traits and the timezone."""

    profile_id: str
    facts: Facts = field(default_factory=ProfileFacts)
    traits: Mapping[str, Any] = field(default_factory=dict)
    timezone: str | None = None

    def trait(self, path: str) -> Any:
        return lookup(dict(self.traits), path)


# --- the step function ---------------------------------------------------------------------


def step(
    state: InstanceState,
    definition: JourneyDefinition,
    stimulus: Stimulus,
    now: datetime,
    *,
    profile: ProfileView | None = None,
    winners: Mapping[str, str] | None = None,
) -> tuple[InstanceState, list[Command]]:
    """Advance one instance by one stimulus. Pure: the same inputs give the same outputs."""
    if now.tzinfo is None:
        raise ValueError("step needs a timezone-aware now")
    view = profile or ProfileView(profile_id=state.profile_id)
    run = _Run(state, definition, now, view, winners or {})
    if not state.active:
        return state, []
    if isinstance(stimulus, Stop):
        run.end("exited", stimulus.reason)
    elif isinstance(stimulus, Enter):
        run.goto(definition.start, stimulus.reason)
    elif isinstance(stimulus, EventOccurred):
        run.on_event(stimulus)
    elif isinstance(stimulus, SegmentChanged):
        run.on_segment(stimulus)
    elif isinstance(stimulus, TimerFired):
        run.on_timer(stimulus)
    elif isinstance(stimulus, DecisionMade):
        run.on_decision(stimulus)
    return run.state, run.commands


def matches(filters: Sequence[PropertyFilter], properties: Mapping[str, Any]) -> bool:
    """Whether event properties pass every filter."""
    props = dict(properties)
    return all(compare(lookup(props, f.property), f.op, f.value) for f in filters)


class _Run:
    def __init__(
        self,
        state: InstanceState,
        definition: JourneyDefinition,
        now: datetime,
        profile: ProfileView,
        winners: Mapping[str, str],
    ) -> None:
        self.state = state
        self.definition = definition
        self.nodes = definition.node_map()
        self.now = now
        self.profile = profile
        self.winners = winners
        self.commands: list[Command] = []
        self.executed = 0
        self.deciding = False

    # -- stimuli --

    def on_event(self, ev: EventOccurred) -> None:
        for crit in self.definition.exits:
            if crit.event == ev.event and matches(crit.where, ev.properties):
                self.end("exited", crit.reason or f"exit criterion: {ev.event}")
                return
        goal = self.definition.goal
        if goal and goal.event == ev.event and matches(goal.where, ev.properties):
            revenue = None
            if goal.revenue_property:
                value = lookup(dict(ev.properties), goal.revenue_property)
                if isinstance(value, int | float | str) and not isinstance(value, bool):
                    revenue = str(value)
            self.state = replace(self.state, converted_at=self.now, revenue=revenue)
            self.end("converted", f"goal reached: {ev.event}")
            return
        w = self.state.waiting
        if w is not None and w.kind == "event" and w.event == ev.event:
            node = self.nodes.get(w.node)
            if isinstance(node, WaitForEventNode) and matches(node.where, ev.properties):
                self._resume(node.next, f"event {ev.event} arrived")

    def on_segment(self, change: SegmentChanged) -> None:
        for crit in self.definition.exits:
            if crit.segment == change.segment and crit.change == change.change:
                self.end("exited", crit.reason or f"exit criterion: {change.change} {crit.segment}")
                return

    def on_timer(self, fired: TimerFired) -> None:
        w = self.state.waiting
        if w is None or w.node != fired.node or w.token != fired.token:
            return  # a stale timer (the instance moved on)
        node = self.nodes.get(w.node)
        if isinstance(node, WaitForEventNode):
            self._resume(node.timeout_next, f"timed out waiting for {node.event}")
        elif isinstance(node, WaitNode):
            self._resume(node.next, "wait over")

    def on_decision(self, answer: DecisionMade) -> None:
        w = self.state.current_node
        node = self.nodes.get(answer.node)
        if w != answer.node or not isinstance(node, DecideNode):
            return
        target: str | None = node.else_
        reason = "no offer"
        if answer.offer_key is not None:
            target = next((c.next for c in node.offers if c.offer == answer.offer_key), None)
            reason = f"offer {answer.offer_key}"
            if target is None:
                target = node.any_offer or node.else_
        self.state = replace(self.state, waiting=None)
        self._follow(target, reason)

    # -- moves --

    def _resume(self, target: str | None, reason: str) -> None:
        self.state = replace(self.state, waiting=None)
        self.commands.append(CancelTimers())
        self._follow(target, reason)

    def _follow(self, target: str | None, reason: str) -> None:
        if target is None:
            self.end("completed", "end of path")
        else:
            self.goto(target, reason)

    def goto(self, node_id: str, reason: str) -> None:
        """Enter ``node_id`` and run nodes until the instance waits or ends."""
        target: str | None = node_id
        while target is not None and self.state.active:
            self.executed += 1
            if self.executed > MAX_NODES_PER_STEP:
                self.end("exited", "too many nodes in one step (loop without a wait)")
                return
            node = self.nodes.get(target)
            if node is None:
                self.end("exited", f"unknown node {target!r}")
                return
            previous = self.state.current_node
            visits = dict(self.state.visits)
            visits[node.id] = visits.get(node.id, 0) + 1
            self.state = replace(self.state, current_node=node.id, visits=visits)
            self.commands.append(Transition(node.id, previous, self.now, reason))
            target, reason = self._execute(node)
        if self.state.active and self.state.waiting is None and not self.deciding:
            self.end("completed", "end of path")

    def end(self, status: Status, reason: str) -> None:
        if self.state.waiting is not None:
            self.commands.append(CancelTimers())
        self.state = replace(
            self.state, status=status, waiting=None, ended_at=self.now, end_reason=reason
        )
        self.commands.append(Transition(None, self.state.current_node, self.now, reason))

    def _wait(self, node: Node, until: datetime, event: str | None = None) -> None:
        token = self.state.tokens + 1
        kind: Literal["timer", "event"] = "event" if event else "timer"
        self.state = replace(
            self.state, waiting=Waiting(node.id, kind, until, token, event), tokens=token
        )
        self.commands.append(ScheduleTimer(node.id, until, token))

    def _key(self, node: Node) -> str:
        return f"{self.state.instance_id}:{node.id}:{self.state.visits.get(node.id, 1)}"

    def _execute(self, node: Node) -> tuple[str | None, str]:
        """Carry out one node; return the next node (None: wait or end) and why."""
        if isinstance(node, ExitNode):
            self.end("completed", node.reason)
            return None, ""
        if isinstance(node, WaitNode):
            due = wait_until(node, self.now, self.profile)
            if due is None:
                return node.missing_next or node.next, f"no {node.attribute} on the profile"
            if due <= self.now:
                return node.next, "wait already over"
            self._wait(node, due)
            return None, ""
        if isinstance(node, WaitForEventNode):
            self._wait(node, self.now + parse_duration(node.timeout), node.event)
            return None, ""
        if isinstance(node, BranchNode):
            for i, case in enumerate(node.cases):
                if evaluate(case.when, self.profile.facts, self.now):
                    return case.next, f"branch case {i + 1} matched"
            return node.else_, "no branch case matched (else)"
        if isinstance(node, SplitNode):
            return self._split(node)
        if isinstance(node, SendNode):
            channel = node.channel
            if channel == "preferred":
                preferred = self.profile.trait("preferred_channel")
                channel = (
                    preferred if isinstance(preferred, str) and preferred else node.fallback_channel
                )
            self.commands.append(
                Send(
                    node=node.id,
                    channel=channel,
                    template=node.template,
                    idempotency_key=self._key(node),
                    category=node.category or self.definition.category,
                    data=node.data,
                    priority=node.priority,
                )
            )
            return node.next, f"sent {node.template} by {channel}"
        if isinstance(node, UpdateProfileNode):
            self.commands.append(UpdateProfile(node.id, node.traits))
            return node.next, "profile updated"
        if isinstance(node, WebhookNode):
            self.commands.append(
                Send(
                    node=node.id,
                    channel="webhook",
                    template=node.template,
                    idempotency_key=self._key(node),
                    category="transactional",
                    payload=node.payload,
                )
            )
            return node.next, f"webhook {node.template} called"
        if isinstance(node, AgentTaskNode):
            self.commands.append(
                Send(
                    node=node.id,
                    channel="agent_task",
                    template=node.template,
                    idempotency_key=self._key(node),
                    category="transactional",
                    payload={**node.payload, "queue": node.queue},
                    priority=node.priority,
                )
            )
            return node.next, f"task for {node.queue}"
        if isinstance(node, DecideNode):
            self.commands.append(Decide(node.id, node.placement))
            self.deciding = True
            return None, ""
        if isinstance(node, JumpNode):
            if node.journey is not None:
                self.commands.append(EnrolInJourney(node.id, node.journey))
                self.end("completed", f"moved to journey {node.journey}")
                return None, ""
            used = self.state.jumps.get(node.id, 0)
            if node.max_times is not None and used >= node.max_times:
                if node.then is None:
                    self.end("completed", f"jump limit {node.max_times} reached")
                    return None, ""
                return node.then, f"jump limit {node.max_times} reached"
            jumps = dict(self.state.jumps)
            jumps[node.id] = used + 1
            self.state = replace(self.state, jumps=jumps)
            return node.to, f"jump {used + 1}"
        raise TypeError(f"unknown node {node!r}")  # pragma: no cover

    def _split(self, node: SplitNode) -> tuple[str | None, str]:
        variant = self.state.split_variants.get(node.id)
        reason = "sticky assignment"
        winner = self.winners.get(node.id)
        if winner is not None:
            variant, reason = winner, "auto-winner"
        elif variant is None:
            variant = assign_variant(
                self.state.profile_id,
                self.definition.key,
                node.id,
                [(v.key, v.weight) for v in node.variants],
                node.control_weight,
            )
            reason = "assigned"
        chosen = dict(self.state.split_variants)
        chosen[node.id] = variant
        self.state = replace(self.state, split_variants=chosen)
        if variant == CONTROL_GROUP:
            self.end("completed", "control group")
            return None, ""
        target = next((v.next for v in node.variants if v.key == variant), None)
        return target, f"variant {variant} ({reason})"


# --- pure helpers: split assignment, enrolment admission, wait times -----------------------


def split_point(profile_id: str, journey_key: str, node_id: str) -> float:
    """A stable number in [0, 1) per profile, journey and split node (SHA-256 based)."""
    digest = hashlib.sha256(f"{journey_key}\x1f{node_id}\x1f{profile_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_variant(
    profile_id: str,
    journey_key: str,
    node_id: str,
    variants: Sequence[tuple[str, float]],
    control_weight: float = 0.0,
) -> str:
    """The variant key (or ``control``) a profile gets, by weight; deterministic and sticky."""
    total = sum(w for _, w in variants) + control_weight
    point = split_point(profile_id, journey_key, node_id) * total
    if point < control_weight:
        return CONTROL_GROUP
    point -= control_weight
    for key, weight in variants:
        if point < weight:
            return key
        point -= weight
    return variants[-1][0]


@dataclass(frozen=True)
class EnrolmentRecord:
    """What is known about a profile's past entries into one journey."""

    last_entered_at: datetime | None = None
    active: bool = False


def admit(
    definition: JourneyDefinition,
    record: EnrolmentRecord | None,
    now: datetime,
    *,
    entries_last_minute: int = 0,
) -> tuple[bool, str]:
    """Whether a profile may enter now (re-entry policy, throttle); returns (ok, reason)."""
    policy = definition.re_entry
    if record is not None and record.last_entered_at is not None:
        if policy.policy == "never":
            return False, "re-entry: never"
        if record.active:
            return False, "re-entry: already active"
        if policy.policy == "after":
            period = parse_duration(policy.period or "P0D")
            if now < record.last_entered_at + period:
                return False, f"re-entry: not before {policy.period} after the last entry"
    if record is not None and record.active:
        return False, "re-entry: already active"
    if definition.throttle and entries_last_minute >= definition.throttle.max_per_minute:
        return False, "throttled"
    return True, "entered"


def profile_zone(name: str | None) -> ZoneInfo:
    """The profile's timezone; UTC when missing or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")
    return ZoneInfo("UTC")


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``zone``. A time in a DST gap is
    moved forward by the gap (02:30 on a spring-forward day is 03:30); an ambiguous time in
    the autumn takes its first occurrence."""
    # zoneinfo resolves a gap time with fold=0 using the offset before the transition, which is
    # the later instant; an ambiguous time with fold=0 is its first occurrence.
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_local_time(
    now: datetime, zone: ZoneInfo, at: time, weekdays: Sequence[int] | None = None
) -> datetime:
    """The first instant after ``now`` when the profile's clock shows ``at`` (on ``weekdays``)."""
    today = now.astimezone(zone).date()
    for offset in range(0, 15):
        day = today + timedelta(days=offset)
        if weekdays is not None and day.weekday() not in weekdays:
            continue
        candidate = local_moment(day, at, zone)
        if candidate > now:
            return candidate
    raise ValueError("no matching weekday")  # pragma: no cover - weekdays validated


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _anniversary(base: date, year: int) -> date:
    try:
        return base.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def wait_until(node: WaitNode, now: datetime, profile: ProfileView) -> datetime | None:
    """When a wait node is over (UTC); None when its profile attribute is missing."""
    zone = profile_zone(profile.timezone)
    at = time.fromisoformat(node.local_time) if node.local_time else None
    if node.duration is not None:
        due = now + parse_duration(node.duration)
        return (
            next_local_time(due - timedelta(microseconds=1), zone, at, node.weekdays) if at else due
        )
    if node.until is not None:
        return node.until.astimezone(UTC)
    if node.attribute is not None:
        base = _as_date(profile.trait(node.attribute))
        if base is None:
            return None
        clock_time = at or time(9, 0)
        shift = timedelta(days=node.offset_days)
        if not node.annually:
            return local_moment(base + shift, clock_time, zone)
        local_today = now.astimezone(zone).date()
        for year in (local_today.year - 1, local_today.year, local_today.year + 1):
            due = local_moment(_anniversary(base, year) + shift, clock_time, zone)
            if due > now:
                return due
        return None  # pragma: no cover
    assert at is not None
    return next_local_time(now, zone, at, node.weekdays)
