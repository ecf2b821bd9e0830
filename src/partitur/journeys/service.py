"""Journey use cases: drafts, validation, publishing, the lifecycle (pause, resume, stop),
test mode, enrolment, audience entry, the start of a backfill and the reads the API, CLI and
web pages use. This module and ``journeys.contracts`` are the domain's public face.

The engine behind it lives beside it: ``runner`` (the imperative shell around the pure
``runtime.step``), ``feed`` (new events and segment changes), ``backfill`` (replaying history)
and ``repository`` (the SQL). What the worker loops and other callers need of them is
re-exported here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from partitur.access import service as access
from partitur.context import Context
from partitur.core.actions import Actor, Permission, Role, action, describe
from partitur.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from partitur.core.ids import new_id
from partitur.core.rules import referenced_events, referenced_segments
from partitur.journeys import ports, repository
from partitur.journeys.contracts import (
    BackfillResult,
    EnrolResult,
    InstanceInfo,
    JourneyDetail,
    JourneySummary,
    NodeCount,
    PublishedVersion,
    SimulatedStep,
    SimulationResult,
    SplitArm,
    SplitExperiment,
)
from partitur.journeys.definition import (
    AudienceEntry,
    DocumentFormat,
    JourneyDefinition,
    SegmentEntry,
    SplitNode,
    document_text,
)
from partitur.journeys.definition import document_of as document_of
from partitur.journeys.definition import json_schema as json_schema
from partitur.journeys.definition import parse_definition as parse_definition
from partitur.journeys.feed import process_events as process_events
from partitur.journeys.feed import process_segment_changes as process_segment_changes
from partitur.journeys.runner import ENTER_NODE
from partitur.journeys.runner import Runner as Runner
from partitur.journeys.runner import fire_timers as fire_timers
from partitur.journeys.runtime import Stop
from partitur.journeys.simulate import SimEvent as SimEvent
from partitur.journeys.simulate import SimProfile
from partitur.journeys.simulate import simulate as simulate
from partitur.journeys.validation import validate as validate

#: "No audience run due" (a far-future time that sorts after every real one).
NEVER = datetime(9999, 1, 1, tzinfo=UTC)


# --- lifecycle -----------------------------------------------------------------------------


def _summary(row: Any) -> JourneySummary:
    return JourneySummary(
        id=row.id,
        key=row.key,
        name=row.name,
        status=row.status,
        latest_version=row.latest_version,
        test_mode=bool(row.test_mode),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _row(conn: Connection, workspace_id: str, key: str) -> Any:
    row = repository.journey_row(conn, workspace_id=workspace_id, key=key)
    if row is None:
        raise NotFound(f"no journey {key!r}", field="key")
    return row


def journey_row(conn: Connection, *, workspace_id: str, key: str) -> Any:
    """The journey's row (inside the domain: its reviews); raises ``NotFound``."""
    return _row(conn, workspace_id, key)


@action("journey.save_draft", permission=Permission.edit_journeys, subject="journey")
def save_draft(
    conn: Connection,
    *,
    workspace_id: str,
    document: dict[str, Any],
    now: datetime,
    actor: Actor,
    create: bool = False,
) -> JourneySummary:
    """Create a journey or replace its draft (shape-checked; graph problems allowed in drafts).
    With ``create`` only a new journey is made: a key in use raises ``Conflict`` (a journey
    started on the canvas never overwrites another one's draft)."""
    definition = parse_definition(document)
    existing = repository.journey_id_of(conn, workspace_id=workspace_id, key=definition.key)
    if existing is not None and create:
        raise Conflict(f"a journey with the key {definition.key!r} exists already", field="key")
    doc = document_of(definition)
    if existing is None:
        journey_id = new_id("jny")
        repository.insert_journey(
            conn,
            journey_id=journey_id,
            workspace_id=workspace_id,
            key=definition.key,
            name=definition.name,
            draft=doc,
            now=now,
        )
        created = True
    else:
        journey_id = existing
        repository.update_draft(
            conn, journey_id=journey_id, draft=doc, name=definition.name, now=now
        )
        created = False
    describe(subject_id=definition.key, details={"created": created, "journey_id": journey_id})
    return _summary(_row(conn, workspace_id, definition.key))


def list_journeys(conn: Connection, *, workspace_id: str) -> list[JourneySummary]:
    """The workspace's journeys by key."""
    return [_summary(r) for r in repository.journey_rows(conn, workspace_id=workspace_id)]


def get_journey(conn: Connection, *, workspace_id: str, key: str) -> JourneyDetail:
    """A journey with its draft and its latest published document; raises ``NotFound``."""
    row = _row(conn, workspace_id, key)
    published = None
    if row.latest_version is not None:
        published = repository.version_definition(
            conn, journey_id=row.id, version=row.latest_version
        )
    return JourneyDetail(**_summary(row).model_dump(), draft=row.draft, published=published)


def find_journey(
    conn: Connection, *, workspace_id: str, value: str, field: str = "journey_id"
) -> JourneySummary:
    """The journey ``value`` names, by its key or its id; ``NotFound`` naming ``field`` when
    the workspace has no such journey."""
    row = repository.journey_row(conn, workspace_id=workspace_id, key=value)
    if row is None:
        row = repository.journey_row_by_id(conn, workspace_id=workspace_id, journey_id=value)
    if row is None:
        raise NotFound(f"no journey {value!r}", field=field)
    return _summary(row)


def get_definition(
    conn: Connection, *, workspace_id: str, key: str, draft: bool = False
) -> JourneyDefinition:
    """The journey's published definition (its latest version), or its draft when ``draft``
    is set or nothing is published yet. Raises ``NotFound``; a stored draft that no longer
    parses raises ``InvalidDocument`` listing its problems."""
    journey = get_journey(conn, workspace_id=workspace_id, key=key)
    document = journey.draft if draft or journey.published is None else journey.published
    return parse_definition(document)


@action(
    "journey.publish", permission=Permission.publish_journeys, subject="journey", subject_key="key"
)
def publish(
    conn: Connection, *, workspace_id: str, key: str, now: datetime, actor: Actor
) -> PublishedVersion:
    """Validate the draft and freeze it as the next immutable version; new entries use it,
    running instances stay on theirs. A draft journey becomes active. Where the workspace
    publishes with four eyes, people submit the draft instead (``journeys.reviews``); only
    partitur itself and the operator's CLI publish directly there."""
    if actor.role is not Role.system and access.four_eyes_publish(conn, workspace_id=workspace_id):
        raise Forbidden(
            "this workspace publishes with four eyes: submit the draft for approval "
            f"(POST /api/journeys/{key}/submissions)",
            field="key",
        )
    row = _row(conn, workspace_id, key)
    return publish_document(conn, workspace_id=workspace_id, row=row, document=row.draft, now=now)


def publish_document(
    conn: Connection, *, workspace_id: str, row: Any, document: dict[str, Any], now: datetime
) -> PublishedVersion:
    """Freeze ``document`` as the journey's next version (inside a publishing action)."""
    key = row.key
    if row.status == "stopped":
        raise Conflict(f"journey {key!r} is stopped; create a new journey", field="status")
    definition = validate(conn, workspace_id=workspace_id, document=document)
    version = (row.latest_version or 0) + 1
    repository.insert_version(
        conn,
        workspace_id=workspace_id,
        journey_id=row.id,
        version=version,
        definition=document_of(definition),
        now=now,
    )
    status = "active" if row.status == "draft" else row.status
    repository.mark_published(
        conn,
        journey_id=row.id,
        version=version,
        status=status,
        next_audience_at=None if isinstance(definition.entry, AudienceEntry) else NEVER,
        now=now,
    )
    describe(before={"version": row.latest_version}, after={"version": version, "status": status})
    return PublishedVersion(journey_id=row.id, key=key, version=version, published_at=now)


@action(
    "journey.pause", permission=Permission.publish_journeys, subject="journey", subject_key="key"
)
def pause(
    conn: Connection, *, workspace_id: str, key: str, now: datetime, actor: Actor
) -> JourneySummary:
    """No entries; timers and events are held until the journey resumes."""
    return _set_status(conn, workspace_id=workspace_id, key=key, action="pause", now=now)


@action(
    "journey.resume", permission=Permission.publish_journeys, subject="journey", subject_key="key"
)
def resume(
    conn: Connection, *, workspace_id: str, key: str, now: datetime, actor: Actor
) -> JourneySummary:
    return _set_status(conn, workspace_id=workspace_id, key=key, action="resume", now=now)


@action(
    "journey.stop", permission=Permission.publish_journeys, subject="journey", subject_key="key"
)
def stop(
    conn: Connection, *, workspace_id: str, key: str, now: datetime, actor: Actor
) -> JourneySummary:
    """Every active instance exits, for good; the journey takes no more entries."""
    return _set_status(conn, workspace_id=workspace_id, key=key, action="stop", now=now)


#: the lifecycle actions by the word the API and CLI use
STATUS_ACTIONS = {"pause": pause, "resume": resume, "stop": stop}


def _set_status(
    conn: Connection, *, workspace_id: str, key: str, action: str, now: datetime
) -> JourneySummary:
    row = _row(conn, workspace_id, key)
    allowed = {"pause": ("active",), "resume": ("paused",), "stop": ("active", "paused")}
    if action not in allowed:
        raise ValidationFailed(f"unknown action {action!r}", field="action")
    if row.status not in allowed[action]:
        raise Conflict(f"cannot {action} a journey that is {row.status}", field="status")
    status = {"pause": "paused", "resume": "active", "stop": "stopped"}[action]
    repository.set_status(conn, journey_id=row.id, status=status, now=now)
    if action == "stop":
        # a stop is the same for every instance: exit them in bulk, no step per instance
        repository.exit_active_instances(
            conn, workspace_id=workspace_id, journey_id=row.id, reason="journey stopped", now=now
        )
    describe(before={"status": row.status}, after={"status": status})
    return _summary(_row(conn, workspace_id, key))


@action(
    "journey.set_test_mode",
    permission=Permission.edit_journeys,
    subject="journey",
    subject_key="key",
)
def set_test_mode(
    conn: Connection,
    *,
    workspace_id: str,
    key: str,
    enabled: bool,
    now: datetime,
    actor: Actor,
) -> JourneySummary:
    """In test mode a journey enrols only test profiles (``profiles.is_test``)."""
    row = _row(conn, workspace_id, key)
    repository.set_test_mode(conn, journey_id=row.id, enabled=enabled, now=now)
    describe(before={"test_mode": bool(row.test_mode)}, after={"test_mode": enabled})
    return _summary(_row(conn, workspace_id, key))


# --- backfill: its start (the replay itself is ``journeys.backfill``) -------------------------


@dataclass(frozen=True)
class BackfillStart:
    """What a backfill replays: the journeys, and the positions up to which it replays events
    and segment changes (the live consumers skip those for these journeys)."""

    journey_ids: dict[str, str]  # key -> id
    events_through: int
    changes_through: int


@action("journey.backfill", permission=Permission.publish_journeys, subject="journey")
def begin_backfill(
    conn: Connection,
    *,
    workspace_id: str,
    keys: Sequence[str],
    since: datetime,
    now: datetime,
    actor: Actor,
) -> BackfillStart:
    """Mark journeys as backfilled from ``since``: history up to the current resolved event and
    segment-change positions is theirs to replay, and the live consumers will not apply it to
    them again. Raises ``Conflict`` if a journey is not active, was backfilled already or has
    instances (a backfill is for a journey that has just been published), ``ValidationFailed``
    if ``since`` is not in the past."""
    if since >= now:
        raise ValidationFailed("the backfill must start in the past", field="since")
    ids: dict[str, str] = {}
    for key in dict.fromkeys(keys):
        row = _row(conn, workspace_id, key)
        if row.status != "active":
            raise Conflict(f"journey {key!r} is {row.status}; publish it first", field="key")
        if row.replayed_events_through is not None:
            raise Conflict(f"journey {key!r} was backfilled already", field="key")
        if repository.has_instances(conn, journey_id=row.id):
            raise Conflict(
                f"journey {key!r} has instances already; backfill it right after publishing",
                field="key",
            )
        ids[key] = row.id
    events_through = ports.resolved_position(conn)
    changes_through = ports.last_segment_change(conn, workspace_id=workspace_id)
    for journey_id in ids.values():
        repository.mark_backfilled(
            conn,
            journey_id=journey_id,
            since=since,
            events_through=events_through,
            changes_through=changes_through,
        )
    describe(
        subject_id=",".join(ids),
        details={"since": since.isoformat(), "events_through": events_through},
    )
    return BackfillStart(ids, events_through, changes_through)


def was_backfilled_or_started(conn: Connection, *, workspace_id: str, key: str) -> bool:
    """Whether the journey was backfilled or has instances (a backfill would be refused)."""
    row = _row(conn, workspace_id, key)
    if row.replayed_events_through is not None:
        return True
    return repository.has_instances(conn, journey_id=row.id)


@action(
    "journey.enrol",
    permission=Permission.publish_journeys,
    subject="journey",
    subject_key="key",
    wakes=("outbox",),
)
def enrol(
    conn: Connection,
    *,
    workspace_id: str,
    key: str,
    profile_ids: Sequence[str],
    now: datetime,
    actor: Actor,
    reason: str = "enrolled by API",
) -> EnrolResult:
    """Enrol profiles now (API/manual entry), each through its first step. Every profile must
    be the workspace's (``NotFound`` naming ``profile_ids``, and nobody is enrolled)."""
    row = _row(conn, workspace_id, key)
    if row.latest_version is None:
        raise Conflict(f"journey {key!r} has no published version", field="key")
    ports.require_profiles(
        conn, workspace_id=workspace_id, profile_ids=profile_ids, field="profile_ids"
    )
    runner = Runner(conn, workspace_id=workspace_id, now=now)
    published = runner.version(row.id, row.latest_version)
    reasons: Counter[str] = Counter()
    for pid in profile_ids:
        reasons[runner.try_enrol(published, pid, reason)] += 1
    runner.flush()
    describe(details={"profiles": len(profile_ids), "outcomes": dict(reasons)})
    return EnrolResult(
        enrolled=reasons.get("entered", 0),
        skipped=sum(v for k, v in reasons.items() if k != "entered"),
        reasons=dict(reasons),
    )


def enrol_bulk(
    conn: Connection,
    *,
    workspace_id: str,
    journey_id: str,
    version: int,
    profile_ids: Sequence[str],
    now: datetime,
    policy_never: bool = True,
) -> int:
    """Audience entry: insert instances plus a start timer due now, in bulk (no step per
    profile in this transaction; the timer scheduler starts them). Profiles with an enrolment
    record are skipped (re-entry is decided per run: ``never`` and ``when_not_active`` both
    skip profiles already enrolled/active)."""
    ids = list(dict.fromkeys(profile_ids))
    known = repository.enrolled_profiles(
        conn, journey_id=journey_id, profile_ids=ids, active_only=not policy_never
    )
    fresh = [p for p in ids if p not in known]
    if not fresh:
        return 0
    instance_ids = [new_id("jin") for _ in fresh]
    repository.insert_instances(
        conn,
        [
            {
                "id": iid,
                "workspace_id": workspace_id,
                "journey_id": journey_id,
                "version": version,
                "profile_id": pid,
                "status": "active",
                "entered_at": now,
                "state": {"waiting": None, "visits": {}, "jumps": {}, "tokens": 0},
                "split_variants": {},
                "rev": 1,
                "is_test": False,
            }
            for iid, pid in zip(instance_ids, fresh, strict=True)
        ],
    )
    repository.insert_timers(
        conn,
        [
            {
                "workspace_id": workspace_id,
                "instance_id": iid,
                "node_id": ENTER_NODE,
                "token": 0,
                "due_at": now,
            }
            for iid in instance_ids
        ],
    )
    repository.insert_enrolments(
        conn,
        [
            {
                "journey_id": journey_id,
                "profile_id": pid,
                "workspace_id": workspace_id,
                "entries": 1,
                "last_entered_at": now,
                "active_instance_id": iid,
            }
            for iid, pid in zip(instance_ids, fresh, strict=True)
        ],
    )
    return len(fresh)


def _split_experiments(
    journey: Any, version: int, definition: JourneyDefinition, winners: dict[str, str]
) -> list[SplitExperiment]:
    return [
        SplitExperiment(
            journey_id=journey.id,
            journey_key=journey.key,
            version=version,
            split_node=node.id,
            arms=[SplitArm(key=k, weight=w) for k, w in node.arms()],
            control=node.control,
            goal=definition.goal,
            settings=node.experiment(),
            auto_winner=node.auto_winner is not None,
            winner=winners.get(node.id),
            running=journey.status == "active" and version == journey.latest_version,
        )
        for node in definition.nodes
        if isinstance(node, SplitNode)
    ]


def split_experiments(
    conn: Connection, *, workspace_id: str, key: str, version: int | None = None
) -> list[SplitExperiment]:
    """The splits of a journey's published ``version`` (default: the latest) as experiments.
    Raises ``NotFound`` for an unknown journey or version."""
    journey = _row(conn, workspace_id, key)
    version = version if version is not None else journey.latest_version
    row = repository.version_winners(conn, journey_id=journey.id, version=version)
    if row is None:
        raise NotFound(f"journey {key!r} has no published version {version}", field="version")
    definition = JourneyDefinition.model_validate(row.definition)
    return _split_experiments(journey, int(version), definition, dict(row.winners or {}))


def running_experiments(conn: Connection, *, workspace_id: str) -> list[SplitExperiment]:
    """Undecided auto-winner splits of the latest version of every active journey."""
    found: list[SplitExperiment] = []
    for row in repository.active_latest_versions(conn, workspace_id=workspace_id):
        definition = JourneyDefinition.model_validate(row.definition)
        found += [
            e
            for e in _split_experiments(
                row, int(row.latest_version), definition, dict(row.winners or {})
            )
            if e.auto_winner and e.winner is None
        ]
    return found


@action(
    "journey.split_winner",
    permission=Permission.publish_journeys,
    subject="journey",
    subject_key="journey_id",
)
def set_split_winner(
    conn: Connection,
    *,
    workspace_id: str,
    journey_id: str,
    version: int,
    split_node: str,
    winner: str,
    reason: str,
    now: datetime,
    actor: Actor,
) -> None:
    """Route everyone who reaches ``split_node`` of this version to the arm ``winner`` from now
    on (the auto-winner's decision, or a person's). Raises ``NotFound`` for an unknown version
    or split, ``ValidationFailed`` for an arm the split does not have, ``Conflict`` when the
    split was decided already."""
    row = repository.version_winners(
        conn, journey_id=journey_id, version=version, workspace_id=workspace_id
    )
    if row is None:
        raise NotFound(f"journey {journey_id!r} has no version {version}", field="version")
    node = JourneyDefinition.model_validate(row.definition).node_map().get(split_node)
    if not isinstance(node, SplitNode):
        raise NotFound(f"no split {split_node!r} in version {version}", field="split_node")
    if winner not in {k for k, _ in node.arms()}:
        raise ValidationFailed(f"split {split_node!r} has no arm {winner!r}", field="winner")
    winners = dict(row.winners or {})
    if split_node in winners:
        raise Conflict(f"split {split_node!r} was decided already", field="split_node")
    describe(
        before={"winners": dict(winners)},
        after={"winners": {**winners, split_node: winner}},
        details={"version": version, "split": split_node, "winner": winner, "reason": reason},
    )
    winners[split_node] = winner
    repository.set_winners(conn, journey_id=journey_id, version=version, winners=winners)


# --- reading -------------------------------------------------------------------------------


def list_instances(
    conn: Connection,
    *,
    workspace_id: str,
    key: str,
    status: str | None = None,
    limit: int = 100,
    after: str | None = None,
) -> list[InstanceInfo]:
    """A journey's instances by id (``after``: the last id of the previous page)."""
    row = _row(conn, workspace_id, key)
    return repository.instances_of(
        conn, journey_id=row.id, key=key, status=status, limit=limit, after=after
    )


def latest_instances(
    conn: Connection, *, workspace_id: str, key: str, limit: int = 20
) -> list[InstanceInfo]:
    """A journey's most recently entered instances, newest first; raises ``NotFound``."""
    row = _row(conn, workspace_id, key)
    return repository.latest_instances_of(conn, journey_id=row.id, key=key, limit=limit)


def profile_journeys(conn: Connection, *, workspace_id: str, profile_id: str) -> list[InstanceInfo]:
    """A profile's instances, newest first, each with its transitions (node, time, reason);
    ``NotFound`` for a profile unknown in the workspace."""
    ports.require_profiles(
        conn, workspace_id=workspace_id, profile_ids=[profile_id], field="profile_id"
    )
    return repository.instances_of_profile(conn, workspace_id=workspace_id, profile_id=profile_id)


def node_counts(
    conn: Connection, *, workspace_id: str, key: str, version: int | None = None
) -> list[NodeCount]:
    """Per node (in document order): instances that entered it, are there now and exited
    there, and its messages by outcome; live from the store (the canvas polls it)."""
    row = _row(conn, workspace_id, key)
    entered, here, exited = repository.node_tallies(conn, journey_id=row.id, version=version)
    messages = ports.messages_by_node(
        conn, workspace_id=workspace_id, journey_id=row.id, version=version
    )
    nodes = list(row.draft.get("nodes", []))
    order = [n["id"] for n in nodes] + sorted(set(entered) - {n["id"] for n in nodes})
    counts = []
    for n in order:
        sent = messages.get(n)
        counts.append(
            NodeCount(
                node_id=n,
                entered=entered.get(n, 0),
                active_here=here.get(n, 0),
                exited_here=exited.get(n, 0),
                **(sent.model_dump(exclude={"node_id"}) if sent else {}),
            )
        )
    return counts


def outcome_counts(conn: Connection, *, workspace_id: str, key: str) -> dict[str, int]:
    """Instances per status."""
    return repository.status_counts(conn, journey_id=_row(conn, workspace_id, key).id)


def stop_instance(conn: Connection, *, workspace_id: str, instance_id: str, now: datetime) -> None:
    """End one instance (e.g. an agent resolved the case)."""
    runner = Runner(conn, workspace_id=workspace_id, now=now)
    found = runner.load_instances([instance_id])
    if not found:
        raise NotFound(f"no instance {instance_id!r}")
    runner.apply(found[0], Stop("stopped by API"))
    runner.flush()


def load_definition(conn: Connection, *, workspace_id: str, key: str) -> JourneyDefinition:
    """The latest published version of a journey, else its draft."""
    detail = get_journey(conn, workspace_id=workspace_id, key=key)
    return parse_definition(detail.published or detail.draft)


def simulation_input(
    conn: Connection,
    *,
    workspace_id: str,
    definition: JourneyDefinition,
    since: datetime,
    until: datetime,
    events: Sequence[SimEvent] | None = None,
) -> tuple[list[SimProfile], list[SimEvent]]:
    """Profiles and events for a simulation: the stored history of the window (events the
    journey or its rules refer to; for a segment or audience entry also the segment's current
    members), or the given events with the stored profiles they name."""
    given = events
    if events is None:
        names = set(definition.referenced_events())
        for rule in definition.rules():
            names |= referenced_events(rule)
        logged = ports.events_between(
            conn, workspace_id=workspace_id, since=since, until=until, names=names
        )
        events = [SimEvent(e.profile_id, e.event, e.timestamp, e.properties) for e in logged]
    pids = {e.profile_id for e in events}
    if isinstance(definition.entry, AudienceEntry | SegmentEntry) and given is None:
        # who enters by segment: its members now (the history of memberships is not replayed)
        for chunk in ports.audience(
            conn, workspace_id=workspace_id, segment_key=definition.entry.segment
        ):
            pids.update(chunk)
    found = ports.load_profiles(conn, workspace_id=workspace_id, profile_ids=sorted(pids))
    profiles = []
    for pid in sorted(pids):
        snap = found.get(pid, ports.ProfileSnapshot(id=pid, workspace_id=workspace_id))
        segments = (
            ports.memberships(conn, workspace_id=workspace_id, profile_id=pid)
            if any(referenced_segments(r) for r in definition.rules())
            else frozenset()
        )
        profiles.append(
            SimProfile(pid, dict(snap.traits), dict(snap.computed), snap.timezone, segments)
        )
    return profiles, list(events)


#: The longest history a simulation replays on request.
MAX_SIMULATION_DAYS = 90


def simulate_document(
    conn: Connection,
    *,
    workspace_id: str,
    document: dict[str, Any],
    days: int,
    now: datetime,
    samples: int = 5,
) -> SimulationResult:
    """Run a journey document (saved or not) over the stored history of the last ``days``
    days on a virtual clock, sending nothing: the audience it would have had, how often each
    node would have been reached, how instances would have ended and what would have been
    sent. Raises ``InvalidDocument`` for a document of the wrong shape, ``ValidationFailed``
    for ``days`` outside 1..``MAX_SIMULATION_DAYS``."""
    if not 1 <= days <= MAX_SIMULATION_DAYS:
        raise ValidationFailed(f"days is between 1 and {MAX_SIMULATION_DAYS}", field="days")
    definition = parse_definition(document)
    since = now - timedelta(days=days)
    profiles, events = simulation_input(
        conn, workspace_id=workspace_id, definition=definition, since=since, until=now
    )
    report = simulate(definition, profiles, events, start=since, end=now, samples=samples)
    return SimulationResult(
        journey=report.journey,
        since=since,
        until=now,
        profiles=report.profiles,
        audience=report.audience,
        entered=report.entered,
        node_counts=report.node_counts,
        outcomes=report.outcomes,
        sends=report.sends,
        samples={
            pid: [SimulatedStep.model_validate(step) for step in steps]
            for pid, steps in report.samples.items()
        },
    )


def export_document(document: dict[str, Any], *, fmt: DocumentFormat) -> str:
    """A journey document (JSON or YAML read into a dict) as the file the CLI loads: YAML or
    JSON with every default written out, positions on the canvas included. Raises
    ``InvalidDocument`` for a document of the wrong shape."""
    return document_text(parse_definition(document), fmt)


def load_documents(
    conn: Connection,
    *,
    workspace_id: str,
    documents: Sequence[dict[str, Any]],
    now: datetime,
    publish_them: bool = True,
    actor: Actor,
) -> list[JourneySummary]:
    """Save (and publish) several journey documents, e.g. the examples for the demo workspace.
    A journey whose published version already equals the document is left alone."""
    out = []
    for document in documents:
        definition = parse_definition(document)
        current = repository.journey_id_of(conn, workspace_id=workspace_id, key=definition.key)
        doc = document_of(definition)
        if current is not None:
            detail = get_journey(conn, workspace_id=workspace_id, key=definition.key)
            if detail.published == doc:
                out.append(JourneySummary(**detail.model_dump(exclude={"draft", "published"})))
                continue
        save_draft(conn, workspace_id=workspace_id, document=document, now=now, actor=actor)
        if publish_them:
            publish(conn, workspace_id=workspace_id, key=definition.key, now=now, actor=actor)
        out.append(_summary(_row(conn, workspace_id, definition.key)))
    return out


def backfill(
    ctx: Context,
    *,
    keys: Sequence[str],
    since: datetime,
    actor: Actor,
    until: datetime | None = None,
    workspace_id: str | None = None,
    deliver: bool = False,
    progress: Any = None,
) -> BackfillResult:
    """Replay ``[since, until]`` into just-published journeys (see ``journeys.backfill``)."""
    from partitur.journeys import backfill as replay  # replay builds on this module

    return replay.backfill(
        ctx,
        keys=keys,
        since=since,
        until=until,
        workspace_id=workspace_id,
        actor=actor,
        deliver=deliver,
        progress=progress,
    )
