"""Journey definitions: the versioned document model and its validation.

A journey is a JSON/YAML document: how profiles enter (``entry``), who may enter again
(``re_entry``), how fast (``throttle``), what counts as success (``goal``), what ends an instance
at once (``exits``) and a graph of ``nodes`` starting at ``start``. Conditions use the shared rule
format of :mod:`partitur.core.rules`. This module is pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from partitur.core.durations import parse_duration
from partitur.core.errors import InvalidDocument
from partitur.core.rules import PropertyFilter, Rule

#: Channels a ``send`` node may name; ``preferred`` reads the profile's ``preferred_channel``.
CHANNELS = ("email", "sms", "push", "in_app", "webhook", "agent_task")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,99}$")
_LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
#: The arm of profiles a split holds back (``control_weight``).
CONTROL_GROUP = "control"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


# --- entry, re-entry, throttle, goal, exits ------------------------------------------------


class EventEntry(_Doc):
    """Enter when a profile performs ``event`` (with property filters and a profile condition)."""

    type: Literal["event"] = "event"
    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)
    condition: Rule | None = None


class SegmentEntry(_Doc):
    """Enter when a profile enters (or exits) a segment."""

    type: Literal["segment"] = "segment"
    segment: str = Field(min_length=1)
    change: Literal["entered", "exited"] = "entered"
    condition: Rule | None = None


class AudienceEntry(_Doc):
    """Enrol every member of a segment once, or again every ``every`` (ISO 8601 duration)."""

    type: Literal["audience"] = "audience"
    segment: str = Field(min_length=1)
    every: str | None = None
    start_at: datetime | None = None
    condition: Rule | None = None

    @field_validator("every")
    @classmethod
    def _check_every(cls, value: str | None) -> str | None:
        return _duration(value)


class ManualEntry(_Doc):
    """Enrol only through the API/CLI (``partitur journeys enrol``)."""

    type: Literal["manual"] = "manual"
    condition: Rule | None = None


Entry = Annotated[
    EventEntry | SegmentEntry | AudienceEntry | ManualEntry, Field(discriminator="type")
]


class ReEntry(_Doc):
    """``never``: a profile enters once; ``after``: again once ``period`` has passed since its
    last entry; ``when_not_active``: again whenever it has no active instance."""

    policy: Literal["never", "after", "when_not_active"] = "never"
    period: str | None = None

    @field_validator("period")
    @classmethod
    def _check_period(cls, value: str | None) -> str | None:
        return _duration(value)


class Throttle(_Doc):
    max_per_minute: int = Field(gt=0)


class Goal(_Doc):
    """An event (with property filters) that ends an instance as ``converted``;
    ``target_rate`` is the conversion rate the journey aims for (the journey score's
    conversion component is 100 at or above it)."""

    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)
    revenue_property: str | None = "revenue"
    target_rate: float | None = Field(default=None, gt=0, le=1)


class ExitCriterion(_Doc):
    """Ends an instance at once: an event (with filters) or a segment change."""

    event: str | None = None
    where: list[PropertyFilter] = Field(default_factory=list)
    segment: str | None = None
    change: Literal["entered", "exited"] = "entered"
    reason: str | None = None

    def model_post_init(self, _context: Any) -> None:
        if (self.event is None) == (self.segment is None):
            raise PydanticCustomError(
                "exit_kind", "an exit criterion names exactly one of 'event' or 'segment'"
            )


# --- nodes ---------------------------------------------------------------------------------


class _Node(_Doc):
    id: str = Field(min_length=1, max_length=100)
    label: str | None = None

    def edges(self) -> list[tuple[str, str]]:
        """(edge name, target node id) pairs."""
        return []


class _Linear(_Node):
    next: str | None = None

    def edges(self) -> list[tuple[str, str]]:
        return [("next", self.next)] if self.next else []


class WaitNode(_Linear):
    """Wait for one of: ``duration``; ``until`` a moment; the next ``local_time`` (HH:MM) in the
    profile's timezone; or relative to a profile date ``attribute`` (e.g. ``birthday``) shifted
    by ``offset_days`` (negative: before), at ``local_time`` (default 09:00), yearly when
    ``annually``. A profile without the attribute continues at ``missing_next`` (else ``next``)."""

    type: Literal["wait"] = "wait"
    duration: str | None = None
    until: datetime | None = None
    local_time: str | None = None
    weekdays: list[int] | None = Field(default=None, description="0=Monday .. 6=Sunday")
    attribute: str | None = None
    offset_days: int = 0
    annually: bool = False
    missing_next: str | None = None

    @field_validator("duration")
    @classmethod
    def _check_duration(cls, value: str | None) -> str | None:
        return _duration(value)

    @field_validator("local_time")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None and not _LOCAL_TIME.match(value):
            raise ValueError("local_time must be HH:MM (24 h)")
        return value

    def model_post_init(self, _context: Any) -> None:
        kinds = [self.duration is not None, self.until is not None, self.attribute is not None]
        if sum(kinds) > 1:
            raise PydanticCustomError(
                "wait_kind_many", "a wait names one of 'duration', 'until' or 'attribute'"
            )
        if not any(kinds) and self.local_time is None:
            raise PydanticCustomError(
                "wait_kind_missing", "a wait needs 'duration', 'until', 'local_time' or 'attribute'"
            )
        if self.until is not None and self.until.tzinfo is None:
            raise PydanticCustomError("until_offset", "'until' needs a UTC offset")

    def edges(self) -> list[tuple[str, str]]:
        out = super().edges()
        if self.missing_next:
            out.append(("missing_next", self.missing_next))
        return out


class WaitForEventNode(_Node):
    """Wait until the profile performs ``event``; after ``timeout`` continue at ``timeout_next``."""

    type: Literal["wait_for_event"] = "wait_for_event"
    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)
    timeout: str
    next: str | None = None
    timeout_next: str | None = None

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, value: str | None) -> str | None:
        return _duration(value)

    def edges(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in (("next", self.next), ("timeout_next", self.timeout_next)) if v]


class BranchCase(_Doc):
    when: Rule
    next: str


class BranchNode(_Node):
    """The first case whose rule holds wins; ``else_`` (``else`` in documents) otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    type: Literal["branch"] = "branch"
    cases: list[BranchCase] = Field(min_length=1)
    else_: str | None = Field(default=None, alias="else")

    def edges(self) -> list[tuple[str, str]]:
        out = [(f"cases[{i}]", c.next) for i, c in enumerate(self.cases)]
        if self.else_:
            out.append(("else", self.else_))
        return out


class SplitVariant(_Doc):
    key: str = Field(min_length=1, max_length=50)
    weight: float = Field(gt=0)
    next: str


class Guardrail(_Doc):
    """A second metric a variant must not harm: the share of exposed profiles who perform
    ``event`` (with ``where``) within the experiment window. A variant whose share exceeds the
    control's by more than ``max_increase`` (an absolute difference, 0.01 = one percentage
    point; proven by the same always-valid test as the goal) stops the experiment."""

    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)
    max_increase: float = Field(default=0.0, ge=0, lt=1)


class AutoWinner(_Doc):
    """How a split is measured and decided (``analytics.experiments``).

    Converted = the journey's goal reached within ``window`` after the profile reached the split;
    only profiles whose window has closed count. The decision is an always-valid sequential test
    (safe to look at on every pass) with the false-winner rate ``significance`` shared by all
    variants; nothing is decided before ``min_runtime`` has passed since the first exposure and
    every arm has ``min_sample`` profiles with a closed window. A winner routes everyone to it;
    a guardrail breach routes everyone to the control."""

    min_sample: int = Field(default=1000, gt=0)
    significance: float = Field(default=0.05, gt=0, lt=0.5)
    window: str = "P7D"
    min_runtime: str = "P7D"
    guardrails: list[Guardrail] = Field(default_factory=list)

    @field_validator("window", "min_runtime")
    @classmethod
    def _check_durations(cls, value: str) -> str:
        parse_duration(value)
        return value


class SplitNode(_Node):
    """Random A/B/n split, deterministic and sticky per profile and journey. ``control_weight``
    holds back a share of profiles, who end the journey as the control group; without one the
    first variant is the control. ``auto_winner`` decides the experiment automatically."""

    type: Literal["split"] = "split"
    variants: list[SplitVariant] = Field(min_length=1)
    control_weight: float = Field(default=0, ge=0)
    auto_winner: AutoWinner | None = None

    def edges(self) -> list[tuple[str, str]]:
        return [(f"variants[{v.key}]", v.next) for v in self.variants]

    @property
    def control(self) -> str:
        """The control arm: the held-out group when there is one, else the first variant."""
        return CONTROL_GROUP if self.control_weight > 0 else self.variants[0].key

    def arms(self) -> list[tuple[str, float]]:
        """Every arm with its configured weight, the control first."""
        arms = [(v.key, v.weight) for v in self.variants]
        if self.control_weight > 0:
            arms.insert(0, (CONTROL_GROUP, self.control_weight))
        return arms

    def experiment(self) -> AutoWinner:
        """How this split is measured: its auto-winner settings, else the defaults."""
        return self.auto_winner or AutoWinner()


class SendNode(_Linear):
    """Send ``template`` on ``channel`` (``preferred``: the profile's ``preferred_channel``
    trait, else ``fallback_channel``)."""

    type: Literal["send"] = "send"
    channel: str
    template: str = Field(min_length=1)
    fallback_channel: str = "email"
    data: dict[str, Any] = Field(default_factory=dict)
    category: Literal["marketing", "transactional"] | None = None
    priority: int = 0


class UpdateProfileNode(_Linear):
    type: Literal["update_profile"] = "update_profile"
    traits: dict[str, Any] = Field(min_length=1)


class WebhookNode(_Linear):
    """Call an external system (e.g. a CRM) through the webhook channel."""

    type: Literal["webhook"] = "webhook"
    template: str = Field(min_length=1)
    payload: dict[str, Any] = Field(default_factory=dict)


class AgentTaskNode(_Linear):
    """Hand off to an agent or sales queue."""

    type: Literal["agent_task"] = "agent_task"
    template: str = Field(min_length=1)
    queue: str = Field(min_length=1)
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: int = 0


class OfferCase(_Doc):
    offer: str = Field(min_length=1)
    next: str


class DecideNode(_Node):
    """Ask decisioning for the next best offer at ``placement`` and branch on the answer."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    type: Literal["decide"] = "decide"
    placement: str = Field(min_length=1)
    offers: list[OfferCase] = Field(default_factory=list)
    any_offer: str | None = None
    else_: str | None = Field(default=None, alias="else")

    def edges(self) -> list[tuple[str, str]]:
        out = [(f"offers[{c.offer}]", c.next) for c in self.offers]
        out += [(k, v) for k, v in (("any_offer", self.any_offer), ("else", self.else_)) if v]
        return out


class JumpNode(_Node):
    """Jump to node ``to`` at most ``max_times`` per instance (then ``then``), or enrol the
    profile in another ``journey`` and end here."""

    type: Literal["jump"] = "jump"
    to: str | None = None
    journey: str | None = None
    max_times: int | None = Field(default=None, gt=0)
    then: str | None = None

    def model_post_init(self, _context: Any) -> None:
        if (self.to is None) == (self.journey is None):
            raise PydanticCustomError(
                "jump_kind", "a jump names exactly one of 'to' (a node) or 'journey'"
            )

    def edges(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in (("to", self.to), ("then", self.then)) if v]


class ExitNode(_Node):
    type: Literal["exit"] = "exit"
    reason: str = "completed"


Node = Annotated[
    WaitNode
    | WaitForEventNode
    | BranchNode
    | SplitNode
    | SendNode
    | UpdateProfileNode
    | WebhookNode
    | AgentTaskNode
    | DecideNode
    | JumpNode
    | ExitNode,
    Field(discriminator="type"),
]

NODE_TYPES = (
    "wait",
    "wait_for_event",
    "branch",
    "split",
    "send",
    "update_profile",
    "webhook",
    "agent_task",
    "decide",
    "jump",
    "exit",
)


class NodePosition(_Doc):
    """Where a node is drawn on the canvas (pixels from the canvas origin, top-left corner)."""

    x: int
    y: int


class CanvasLayout(_Doc):
    """How the Studio's canvas draws the journey: the position of each node by id. Only the
    canvas reads it; the engine, validation and analytics ignore it, so moving a node changes
    nothing about how the journey runs. Nodes without a position are placed automatically."""

    nodes: dict[str, NodePosition] = Field(default_factory=dict)
    #: where the entry (how people enter, drawn before the first node) is drawn
    entry: NodePosition | None = None


class JourneyDefinition(_Doc):
    """One version of a journey."""

    key: str
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    category: Literal["marketing", "transactional"] = "marketing"
    entry: Entry
    re_entry: ReEntry = Field(default_factory=ReEntry)
    throttle: Throttle | None = None
    goal: Goal | None = None
    exits: list[ExitCriterion] = Field(default_factory=list)
    start: str
    nodes: list[Node] = Field(min_length=1)
    #: the canvas's drawing of the journey (ignored by the engine)
    layout: CanvasLayout | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError("key: lower-case letters, digits, '-' and '_' (max 100)")
        return value

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def node_map(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}

    def template_refs(self) -> set[tuple[str, str]]:
        """(channel, template) pairs this journey sends (``preferred`` as its fallback)."""
        refs: set[tuple[str, str]] = set()
        for n in self.nodes:
            if isinstance(n, SendNode):
                refs.add(
                    (n.fallback_channel if n.channel == "preferred" else n.channel, n.template)
                )
            elif isinstance(n, WebhookNode):
                refs.add(("webhook", n.template))
            elif isinstance(n, AgentTaskNode):
                refs.add(("agent_task", n.template))
        return refs

    def referenced_events(self) -> set[str]:
        """Event names the journey reacts to (entry, waits, goal, exits)."""
        names: set[str] = set()
        if isinstance(self.entry, EventEntry):
            names.add(self.entry.event)
        if self.goal:
            names.add(self.goal.event)
        names |= {e.event for e in self.exits if e.event}
        names |= {n.event for n in self.nodes if isinstance(n, WaitForEventNode)}
        return names

    def rules(self) -> list[Rule]:
        """Every profile rule in the document (to know which facts to load)."""
        out: list[Rule] = []
        if self.entry.condition is not None:
            out.append(self.entry.condition)
        for n in self.nodes:
            if isinstance(n, BranchNode):
                out.extend(c.when for c in n.cases)
        return out


# --- validation ----------------------------------------------------------------------------


def parse_definition(document: Any) -> JourneyDefinition:
    """Validate a document's shape; raises ``InvalidDocument`` listing every problem (with the
    node id when the problem is inside a node)."""
    try:
        return JourneyDefinition.model_validate(document)
    except ValidationError as exc:
        problems = shape_problems(document, exc)
        raise InvalidDocument(
            f"the journey document has {len(problems)} problem(s)", problems=problems
        ) from exc


def validate_definition(
    document: Any,
    *,
    known_channels: Iterable[str] | None = None,
    template_problems: Mapping[tuple[str, str], list[str]] | None = None,
) -> JourneyDefinition:
    """Shape and graph validation; raises ``InvalidDocument`` with every problem."""
    definition = parse_definition(document)
    problems = graph_problems(
        definition, known_channels=known_channels, template_problems=template_problems
    )
    if problems:
        raise InvalidDocument(
            f"the journey {definition.key!r} has {len(problems)} problem(s)", problems=problems
        )
    return definition


_ENTRY_TYPES = ("event", "segment", "audience", "manual")


def _shape_field(loc: list[Any]) -> str | None:
    """The field a pydantic error is about, without the union tags pydantic puts in its path:
    inside a node relative to the node (``timeout``, ``cases.0.next``), else from the document
    (``entry.event``, ``goal.event``); None when the error is about a whole node."""
    if len(loc) >= 2 and loc[0] == "nodes":
        rest = loc[3:] if len(loc) >= 3 and loc[2] in NODE_TYPES else loc[2:]
        return ".".join(str(p) for p in rest) or None
    if len(loc) >= 2 and loc[0] == "entry" and loc[1] in _ENTRY_TYPES:
        loc = [loc[0], *loc[2:]]
    return ".".join(str(p) for p in loc) or None


def shape_problems(document: Any, exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as problems: ``path`` and ``message`` as pydantic says them, ``code``
    (pydantic's error type, or this module's: ``wait_kind_missing``, ``jump_kind``, ...) and
    its ``params`` for people's words in any language, the ``node`` id when the error is
    inside a node and the ``field`` it is about (relative to the node)."""
    problems: list[dict[str, Any]] = []
    nodes = document.get("nodes") if isinstance(document, dict) else None
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        problem: dict[str, Any] = {
            "path": ".".join(str(p) for p in loc) or "document",
            "message": err.get("msg", "invalid"),
            "code": err.get("type", "invalid"),
        }
        params = {
            k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int | float)
        }
        if params:
            problem["params"] = params
        field = _shape_field(loc)
        if field is not None:
            problem["field"] = field
        index = loc[1] if len(loc) >= 2 and loc[0] == "nodes" else None
        if isinstance(index, int) and isinstance(nodes, list) and index < len(nodes):
            node_doc = nodes[index]
            if isinstance(node_doc, dict) and node_doc.get("id") is not None:
                problem["node"] = str(node_doc["id"])
        problems.append(problem)
    return problems


def graph_problems(
    definition: JourneyDefinition,
    *,
    known_channels: Iterable[str] | None = None,
    template_problems: Mapping[tuple[str, str], list[str]] | None = None,
) -> list[dict[str, Any]]:
    """Every structural problem: duplicate ids, a missing start, dangling edges, unreachable
    nodes, branches without else, loops without a wait or a limit, unknown channels/templates.
    Each problem is ``{"node": id | None, "message": ..., "code": ...}`` with the ``field`` of
    the node it is about (an edge name such as ``else`` or ``timeout_next``, ``channel``,
    ``template``) and the ``params`` of its message, so a UI can say it in its own words."""
    problems: list[dict[str, Any]] = []

    def add(
        node: str | None, message: str, code: str, field: str | None = None, **params: Any
    ) -> None:
        problem: dict[str, Any] = {"node": node, "message": message, "code": code}
        if field is not None:
            problem["field"] = field
        if params:
            problem["params"] = params
        problems.append(problem)

    seen: set[str] = set()
    for n in definition.nodes:
        if n.id in seen:
            add(n.id, f"duplicate node id {n.id!r}", "duplicate_node", "id")
        seen.add(n.id)
    nodes = definition.node_map()
    if definition.start not in nodes:
        add(
            None,
            f"start node {definition.start!r} does not exist",
            "unknown_start",
            "start",
            start=definition.start,
        )
    for n in definition.nodes:
        for edge, target in n.edges():
            if target not in nodes:
                add(
                    n.id,
                    f"edge {edge} points to unknown node {target!r}",
                    "unknown_target",
                    edge,
                    edge=edge,
                    target=target,
                )
        if isinstance(n, BranchNode) and not n.else_:
            add(n.id, "branch has no else path", "branch_without_else", "else")
        if isinstance(n, DecideNode) and not n.else_:
            add(n.id, "decide has no else path (no offer)", "decide_without_else", "else")
        if isinstance(n, SplitNode):
            keys = [v.key for v in n.variants]
            if len(set(keys)) != len(keys):
                add(n.id, "split variant keys must be unique", "split_keys_repeat", "variants")
            if CONTROL_GROUP in keys:
                add(
                    n.id,
                    "'control' is reserved for the control group (control_weight)",
                    "split_control_key",
                    "variants",
                )
            if n.auto_winner is not None and definition.goal is None:
                add(
                    n.id,
                    "auto_winner needs the journey's goal: it decides on conversion",
                    "auto_winner_without_goal",
                    "auto_winner",
                )
            if n.auto_winner is not None and len(n.arms()) < 2:
                add(
                    n.id,
                    "auto_winner needs two arms: a second variant or a control_weight",
                    "auto_winner_one_arm",
                    "auto_winner",
                )
        if (
            isinstance(n, WaitNode)
            and n.weekdays is not None
            and (not n.weekdays or any(d < 0 or d > 6 for d in n.weekdays))
        ):
            add(
                n.id,
                "weekdays must be a non-empty list of 0 (Monday) .. 6 (Sunday)",
                "bad_weekdays",
                "weekdays",
            )
    # reachability
    if definition.start in nodes:
        reached: set[str] = set()
        todo = [definition.start]
        while todo:
            current = todo.pop()
            if current in reached or current not in nodes:
                continue
            reached.add(current)
            todo.extend(t for _, t in nodes[current].edges())
        for n in definition.nodes:
            if n.id not in reached:
                add(n.id, "node is unreachable from the start", "unreachable")
    # loops: every cycle must pass a wait or a jump with max_times
    for cycle in _cycles_without_brake(nodes):
        add(
            cycle[0],
            "loop without a wait or a jump limit: " + " -> ".join(cycle),
            "loop_without_brake",
            nodes=" -> ".join(cycle),
        )
    # channels and templates
    channels = set(known_channels) if known_channels is not None else set(CHANNELS)
    for n in definition.nodes:
        if isinstance(n, SendNode):
            preferred = n.channel == "preferred"
            for ch in (n.fallback_channel,) if preferred else (n.channel,):
                if ch not in channels:
                    add(
                        n.id,
                        f"unknown channel {ch!r} (known: {', '.join(sorted(channels))})",
                        "unknown_channel",
                        "fallback_channel" if preferred else "channel",
                        channel=ch,
                    )
    if template_problems:
        for n in definition.nodes:
            pairs = {
                (n.fallback_channel if n.channel == "preferred" else n.channel, n.template)
                if isinstance(n, SendNode)
                else ("webhook", n.template)
                if isinstance(n, WebhookNode)
                else ("agent_task", n.template)
                if isinstance(n, AgentTaskNode)
                else None
            } - {None}
            for pair in pairs:
                assert pair is not None
                for message in template_problems.get(pair, []):
                    add(
                        n.id,
                        f"template {pair[1]!r} ({pair[0]}): {message}",
                        "template_problem",
                        "template",
                        template=pair[1],
                        channel=pair[0],
                        problem=message,
                    )
    return problems


def _brakes(node: Node) -> bool:
    if isinstance(node, WaitNode | WaitForEventNode):
        return True
    return isinstance(node, JumpNode) and node.max_times is not None


def _cycles_without_brake(nodes: dict[str, Node]) -> list[list[str]]:
    """Cycles in the graph after removing braking nodes (strongly connected components)."""
    graph = {
        nid: [t for _, t in n.edges() if t in nodes and not _brakes(nodes[t])]
        for nid, n in nodes.items()
        if not _brakes(n)
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(root: str) -> None:
        # iterative Tarjan
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter[0]
                counter[0] += 1
                stack.append(v)
                on_stack.add(v)
            succ = graph[v]
            if i < len(succ):
                work.append((v, i + 1))
                w = succ[i]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in graph[v]:
                    out.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])

    for nid in graph:
        if nid not in index:
            visit(nid)
    return out


#: The file formats a journey document is written in.
DocumentFormat = Literal["yaml", "json"]


def document_of(definition: JourneyDefinition) -> dict[str, Any]:
    """The definition as its stored document (what saving, publishing and export write): by
    alias, defaults filled in, unset optional fields left out."""
    return definition.model_dump(mode="json", by_alias=True, exclude_none=True)


def document_text(definition: JourneyDefinition, fmt: DocumentFormat) -> str:
    """The definition as a file that ``partitur journeys save FILE`` loads back into the same
    document: YAML (block style, keys in the model's order, text as it is) or JSON."""
    document = document_of(definition)
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a journey document."""
    return JourneyDefinition.model_json_schema(by_alias=True)
