"""Journey use cases: the lifecycle of journeys and the imperative shell around ``step``.

The shell (:class:`Runner`) loads instance state, calls the pure :func:`runtime.step`, and writes
the new state, transitions, timers and sends in the caller's ONE transaction (``store.begin()``),
so a worker killed at any instant leaves either all of a step or none of it.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, and_, bindparam, delete, func, select

from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import Conflict, InvalidDocument, NotFound, ValidationFailed
from partitur.core.ids import new_id
from partitur.journeys import ports, repository
from partitur.journeys.bulk import bulk_insert, bulk_update_checked
from partitur.journeys.contracts import (
    EnrolResult,
    InstanceInfo,
    JourneyDetail,
    JourneySummary,
    NodeCount,
    PublishedVersion,
)
from partitur.journeys.definition import (
    AudienceEntry,
    EventEntry,
    JourneyDefinition,
    SegmentEntry,
    SplitNode,
    graph_problems,
    parse_definition,
)
from partitur.journeys.runtime import (
    CancelTimers,
    Decide,
    DecisionMade,
    EnrolInJourney,
    EnrolmentRecord,
    Enter,
    EventOccurred,
    InstanceState,
    ProfileView,
    ScheduleTimer,
    SegmentChanged,
    Send,
    Stimulus,
    Stop,
    TimerFired,
    Transition,
    UpdateProfile,
    admit,
    matches,
    step,
)
from partitur.journeys.simulate import SimEvent, SimProfile
from partitur.journeys.tables import (
    journey_enrolments,
    journey_instances,
    journey_timers,
    journey_transitions,
    journey_versions,
    journeys,
)
from partitur.segments.rules import (
    ProfileFacts,
    evaluate,
    longest_window,
    referenced_events,
    referenced_segments,
)
from partitur.storage.engine import notify_after_commit

log = logging.getLogger(__name__)

#: "No audience run due" (a far-future time that sorts after every real one).
NEVER = datetime(9999, 1, 1, tzinfo=UTC)
#: The pseudo node of the timer that starts a bulk-enrolled (audience) instance.
ENTER_NODE = "__enter__"


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
    row = conn.execute(
        select(journeys).where(journeys.c.workspace_id == workspace_id, journeys.c.key == key)
    ).first()
    if row is None:
        raise NotFound(f"no journey {key!r}", field="key")
    return row


def validate(conn: Connection, *, workspace_id: str, document: dict[str, Any]) -> JourneyDefinition:
    """Shape and graph validation with the channels the platform knows and the workspace's
    templates; raises ``InvalidDocument`` listing every problem with its node id."""
    definition = parse_definition(document)
    template_problems = {
        (channel, key): ports.check_template(
            conn, workspace_id=workspace_id, key=key, channel=channel
        )
        for channel, key in definition.template_refs()
    }
    problems = graph_problems(
        definition, known_channels=ports.known_channels(), template_problems=template_problems
    )
    if problems:
        raise InvalidDocument(
            f"the journey {definition.key!r} has {len(problems)} problem(s)", problems=problems
        )
    return definition


@action("journey.save_draft", permission=Permission.edit_journeys, subject="journey")
def save_draft(
    conn: Connection,
    *,
    workspace_id: str,
    document: dict[str, Any],
    now: datetime,
    actor: Actor,
) -> JourneySummary:
    """Create a journey or replace its draft (shape-checked; graph problems allowed in drafts)."""
    definition = parse_definition(document)
    existing = conn.execute(
        select(journeys.c.id).where(
            journeys.c.workspace_id == workspace_id, journeys.c.key == definition.key
        )
    ).first()
    doc = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    if existing is None:
        journey_id = new_id("jny")
        conn.execute(
            journeys.insert().values(
                id=journey_id,
                workspace_id=workspace_id,
                key=definition.key,
                name=definition.name,
                status="draft",
                draft=doc,
                test_mode=False,
                created_at=now,
                updated_at=now,
            )
        )
        created = True
    else:
        journey_id = existing.id
        conn.execute(
            journeys.update()
            .where(journeys.c.id == journey_id)
            .values(draft=doc, name=definition.name, updated_at=now)
        )
        created = False
    describe(subject_id=definition.key, details={"created": created, "journey_id": journey_id})
    return _summary(_row(conn, workspace_id, definition.key))


def list_journeys(conn: Connection, *, workspace_id: str) -> list[JourneySummary]:
    rows = conn.execute(
        select(journeys).where(journeys.c.workspace_id == workspace_id).order_by(journeys.c.key)
    )
    return [_summary(r) for r in rows]


def get_journey(conn: Connection, *, workspace_id: str, key: str) -> JourneyDetail:
    row = _row(conn, workspace_id, key)
    published = None
    if row.latest_version is not None:
        published = conn.execute(
            select(journey_versions.c.definition).where(
                journey_versions.c.journey_id == row.id,
                journey_versions.c.version == row.latest_version,
            )
        ).scalar()
    return JourneyDetail(**_summary(row).model_dump(), draft=row.draft, published=published)


@action(
    "journey.publish", permission=Permission.publish_journeys, subject="journey", subject_key="key"
)
def publish(
    conn: Connection, *, workspace_id: str, key: str, now: datetime, actor: Actor
) -> PublishedVersion:
    """Validate the draft and freeze it as the next immutable version; new entries use it,
    running instances stay on theirs. A draft journey becomes active."""
    row = _row(conn, workspace_id, key)
    if row.status == "stopped":
        raise Conflict(f"journey {key!r} is stopped; create a new journey", field="status")
    definition = validate(conn, workspace_id=workspace_id, document=row.draft)
    version = (row.latest_version or 0) + 1
    conn.execute(
        journey_versions.insert().values(
            workspace_id=workspace_id,
            journey_id=row.id,
            version=version,
            definition=definition.model_dump(mode="json", by_alias=True, exclude_none=True),
            published_at=now,
            winners={},
        )
    )
    status = "active" if row.status == "draft" else row.status
    conn.execute(
        journeys.update()
        .where(journeys.c.id == row.id)
        .values(
            latest_version=version,
            status=status,
            updated_at=now,
            next_audience_at=None if isinstance(definition.entry, AudienceEntry) else NEVER,
        )
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
    conn.execute(
        journeys.update().where(journeys.c.id == row.id).values(status=status, updated_at=now)
    )
    if action == "stop":
        _stop_instances(conn, workspace_id=workspace_id, journey_id=row.id, now=now)
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
    conn.execute(
        journeys.update().where(journeys.c.id == row.id).values(test_mode=enabled, updated_at=now)
    )
    describe(before={"test_mode": bool(row.test_mode)}, after={"test_mode": enabled})
    return _summary(_row(conn, workspace_id, key))


def _stop_instances(conn: Connection, *, workspace_id: str, journey_id: str, now: datetime) -> None:
    """Exit every active instance in bulk (a stop is the same for all; no step per instance)."""
    active = conn.execute(
        select(
            journey_instances.c.id, journey_instances.c.version, journey_instances.c.current_node
        ).where(
            journey_instances.c.journey_id == journey_id, journey_instances.c.status == "active"
        )
    ).all()
    for i in range(0, len(active), 5000):
        chunk = active[i : i + 5000]
        ids = [r.id for r in chunk]
        bulk_insert(
            conn,
            journey_transitions,
            [
                {
                    "workspace_id": workspace_id,
                    "instance_id": r.id,
                    "journey_id": journey_id,
                    "version": r.version,
                    "node_id": None,
                    "from_node": r.current_node,
                    "at": now,
                    "reason": "journey stopped",
                }
                for r in chunk
            ],
        )
        conn.execute(
            journey_instances.update()
            .where(journey_instances.c.id.in_(ids))
            .values(
                status="exited",
                ended_at=now,
                end_reason="journey stopped",
                rev=journey_instances.c.rev + 1,
            )
        )
        conn.execute(delete(journey_timers).where(journey_timers.c.instance_id.in_(ids)))
    conn.execute(
        journey_enrolments.update()
        .where(journey_enrolments.c.journey_id == journey_id)
        .values(active_instance_id=None)
    )


# --- the shell around step -----------------------------------------------------------------


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

    # -- loading --

    def version(self, journey_id: str, version: int) -> Published:
        key = (journey_id, version)
        if key not in self._versions:
            first_published = (
                select(func.min(journey_versions.c.published_at))
                .where(journey_versions.c.journey_id == journey_id)
                .scalar_subquery()
            )
            row = self.conn.execute(
                select(
                    journey_versions.c.definition,
                    journey_versions.c.winners,
                    journeys.c.key,
                    journeys.c.status,
                    journeys.c.test_mode,
                    first_published.label("live_since"),
                    journeys.c.replayed_events_through,
                    journeys.c.replayed_changes_through,
                )
                .join(journeys, journeys.c.id == journey_versions.c.journey_id)
                .where(
                    journey_versions.c.journey_id == journey_id,
                    journey_versions.c.version == version,
                )
            ).one()
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
        rows = self.conn.execute(
            select(journeys.c.id, journeys.c.latest_version).where(
                journeys.c.workspace_id == self.workspace_id,
                journeys.c.status == "active",
                journeys.c.latest_version.is_not(None),
            )
        ).all()
        return [self.version(r.id, r.latest_version) for r in rows]

    def load_profiles(self, profile_ids: Iterable[str]) -> None:
        missing = [p for p in dict.fromkeys(profile_ids) if p not in self._profiles]
        if missing:
            found = ports.load_profiles(
                self.conn, workspace_id=self.workspace_id, profile_ids=missing
            )
            for pid in missing:
                self._profiles[pid] = found.get(pid, ports.ProfileSnapshot(pid))

    def profile(self, profile_id: str) -> ports.ProfileSnapshot:
        self.load_profiles([profile_id])
        return self._profiles[profile_id]

    def load_instances(self, where: Any) -> list[Live]:
        rows = self.conn.execute(select(journey_instances).where(where)).all()
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
                        request["_at"] = self.now
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
                    target = self.conn.execute(
                        select(journeys.c.id, journeys.c.latest_version).where(
                            journeys.c.workspace_id == self.workspace_id,
                            journeys.c.key == c.journey_key,
                            journeys.c.status == "active",
                        )
                    ).first()
                    if target is not None and target.latest_version is not None:
                        self.try_enrol(
                            self.version(target.id, target.latest_version),
                            state.profile_id,
                            f"jump from {published.key}",
                        )

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

    def _records(self, journey_id: str, profile_ids: Sequence[str]) -> dict[str, EnrolmentRecord]:
        rows = self.conn.execute(
            select(
                journey_enrolments.c.profile_id,
                journey_enrolments.c.last_entered_at,
                journey_enrolments.c.active_instance_id,
            ).where(
                journey_enrolments.c.journey_id == journey_id,
                journey_enrolments.c.profile_id.in_(list(profile_ids)),
            )
        )
        return {
            r.profile_id: EnrolmentRecord(r.last_entered_at, r.active_instance_id is not None)
            for r in rows
        }

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
            record = self._records(published.journey_id, [profile_id]).get(profile_id)
        if published.definition.throttle and published.journey_id not in self._throttle_loaded:
            self._throttle_loaded.add(published.journey_id)
            self.entries_last_minute[published.journey_id] = int(
                self.conn.execute(
                    select(func.count()).where(
                        journey_instances.c.journey_id == published.journey_id,
                        journey_instances.c.entered_at > self.now - timedelta(minutes=1),
                    )
                ).scalar()
                or 0
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
        updated = bulk_update_checked(
            conn, journey_instances, updates, key="id", check="rev", bump="rev"
        )
        if updated != len(updates):
            raise Conflict("a journey instance changed concurrently; retry")
        bulk_insert(conn, journey_instances, new_rows)
        bulk_insert(conn, journey_transitions, self.transitions)
        ended = {i for i, lv in self.live.items() if not lv.state.active}
        drop = self.cancel | ended
        if drop:
            ids = sorted(drop)
            for i in range(0, len(ids), 500):
                conn.execute(
                    delete(journey_timers).where(journey_timers.c.instance_id.in_(ids[i : i + 500]))
                )
        timers = [
            t
            for t in self.timers
            if (w := self.live[t["instance_id"]].state.waiting) is not None
            and w.token == t["token"]
            and self.live[t["instance_id"]].state.active
        ]
        bulk_insert(conn, journey_timers, timers)
        if timers:
            notify_after_commit(conn, "timers")  # the timer loop may sleep past a short wait
        if self.replaying:
            # replayed sends are queued at the (virtual) hour they were made, not at the end
            by_hour: dict[datetime, tuple[datetime, list[dict[str, Any]]]] = {}
            for request in self.sends:
                at = request.pop("_at")
                hour = at.replace(minute=0, second=0, microsecond=0)
                first, requests = by_hour.setdefault(hour, (at, []))
                requests.append(request)
            for _, (first, requests) in sorted(by_hour.items()):
                ports.enqueue_many(conn, requests=requests, now=first)
        else:
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
                for i in range(0, len(pids), 500):
                    rows = conn.execute(
                        select(journey_enrolments.c.profile_id).where(
                            journey_enrolments.c.journey_id == jid,
                            journey_enrolments.c.profile_id.in_(pids[i : i + 500]),
                        )
                    )
                    existing |= {(jid, r.profile_id) for r in rows}
            inserts = []
            for key, live in latest.items():
                active_id = live.state.instance_id if live.state.active else None
                if key in existing:
                    conn.execute(
                        journey_enrolments.update()
                        .where(
                            journey_enrolments.c.journey_id == key[0],
                            journey_enrolments.c.profile_id == key[1],
                        )
                        .values(
                            entries=journey_enrolments.c.entries + counts[key],
                            last_entered_at=live.state.entered_at,
                            active_instance_id=active_id,
                        )
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
            bulk_insert(conn, journey_enrolments, inserts)
        enrolled_now = {lv.state.instance_id for lv in self.enrolled}
        finished = [
            {"j": lv.journey_id, "p": lv.state.profile_id, "i": lv.state.instance_id}
            for iid in sorted(ended - enrolled_now)
            if (lv := self.live[iid])
        ]
        if finished:
            # by primary key: the enrolment no longer has an active instance
            conn.execute(
                journey_enrolments.update()
                .where(
                    journey_enrolments.c.journey_id == bindparam("j"),
                    journey_enrolments.c.profile_id == bindparam("p"),
                    journey_enrolments.c.active_instance_id == bindparam("i"),
                )
                .values(active_instance_id=None),
                finished,
            )


# --- feeding stimuli -----------------------------------------------------------------------


class _Feed:
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
        for i in range(0, len(pids), 500):
            for live in runner.load_instances(
                and_(
                    journey_instances.c.profile_id.in_(pids[i : i + 500]),
                    journey_instances.c.status == "active",
                )
            ):
                if live.journey_id in self.active_ids:
                    self.by_profile.setdefault(live.state.profile_id, []).append(live)
        self.triggers = [p for p in self.published if isinstance(p.definition.entry, EventEntry)]
        runner.load_profiles(pids)
        self.records: dict[tuple[str, str], EnrolmentRecord] = {}
        for p in self.triggers:
            for i in range(0, len(pids), 500):
                for pid, rec in runner._records(p.journey_id, pids[i : i + 500]).items():
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
        found = runner.load_instances(
            and_(
                journey_instances.c.profile_id == ch.profile_id,
                journey_instances.c.status == "active",
            )
        )
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
    feed = _Feed(runner, (e.profile_id for e in relevant))
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
    feed = _Feed(runner, ())
    for ch in changes:
        feed.segment_change(ch)
    runner.flush()
    return runner.steps


# --- backfill: replaying history into journeys on a virtual clock ---------------------------


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
        has_instances = conn.execute(
            select(journey_instances.c.id).where(journey_instances.c.journey_id == row.id).limit(1)
        ).first()
        if has_instances is not None:
            raise Conflict(
                f"journey {key!r} has instances already; backfill it right after publishing",
                field="key",
            )
        ids[key] = row.id
    events_through = ports.resolved_position(conn)
    changes_through = ports.last_segment_change(conn, workspace_id=workspace_id)
    for journey_id in ids.values():
        conn.execute(
            journeys.update()
            .where(journeys.c.id == journey_id)
            .values(
                backfilled_since=since,
                replayed_events_through=events_through,
                replayed_changes_through=changes_through,
            )
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
    return (
        conn.execute(
            select(journey_instances.c.id).where(journey_instances.c.journey_id == row.id).limit(1)
        ).first()
        is not None
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
    feed = _Feed(runner, pids, only=journey_ids, replay=True)
    if not feed.published:
        return 0
    ids = sorted(journey_ids)
    stored = conn.execute(
        select(
            journey_timers.c.id,
            journey_timers.c.instance_id,
            journey_timers.c.node_id,
            journey_timers.c.token,
            journey_timers.c.due_at,
        )
        .join(journey_instances, journey_instances.c.id == journey_timers.c.instance_id)
        .where(journey_instances.c.journey_id.in_(ids), journey_timers.c.due_at < end)
    ).all()
    instance_ids = sorted({t.instance_id for t in stored})
    for i in range(0, len(instance_ids), 500):
        runner.load_instances(journey_instances.c.id.in_(instance_ids[i : i + 500]))
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
    fired = [t.id for t in stored]
    for i in range(0, len(fired), 500):
        conn.execute(delete(journey_timers).where(journey_timers.c.id.in_(fired[i : i + 500])))
    runner.flush()
    return runner.steps


def fire_timers(conn: Connection, *, workspace_id: str, now: datetime, limit: int = 1000) -> int:
    """Fire up to ``limit`` due timers (oldest first) of active journeys; returns timers fired."""
    due = conn.execute(
        select(
            journey_timers.c.id,
            journey_timers.c.instance_id,
            journey_timers.c.node_id,
            journey_timers.c.token,
        )
        .join(journey_instances, journey_instances.c.id == journey_timers.c.instance_id)
        .join(journeys, journeys.c.id == journey_instances.c.journey_id)
        .where(
            journey_timers.c.workspace_id == workspace_id,
            journey_timers.c.due_at <= now,
            journeys.c.status == "active",
        )
        .order_by(journey_timers.c.due_at)
        .limit(limit)
    ).all()
    if not due:
        return 0
    runner = Runner(conn, workspace_id=workspace_id, now=now)
    ids = sorted({t.instance_id for t in due})
    for i in range(0, len(ids), 500):
        runner.load_instances(journey_instances.c.id.in_(ids[i : i + 500]))
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
    timer_ids = [t.id for t in due]
    for i in range(0, len(timer_ids), 500):
        conn.execute(delete(journey_timers).where(journey_timers.c.id.in_(timer_ids[i : i + 500])))
    runner.flush()
    return len(due)


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
    """Enrol profiles now (API/manual entry), each through its first step."""
    row = _row(conn, workspace_id, key)
    if row.latest_version is None:
        raise Conflict(f"journey {key!r} has no published version", field="key")
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
    known: set[str] = set()
    for i in range(0, len(ids), 500):
        rows = conn.execute(
            select(journey_enrolments.c.profile_id, journey_enrolments.c.active_instance_id).where(
                journey_enrolments.c.journey_id == journey_id,
                journey_enrolments.c.profile_id.in_(ids[i : i + 500]),
            )
        )
        known |= {r.profile_id for r in rows if policy_never or r.active_instance_id}
    fresh = [p for p in ids if p not in known]
    if not fresh:
        return 0
    instance_ids = [new_id("jin") for _ in fresh]
    bulk_insert(
        conn,
        journey_instances,
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
    bulk_insert(
        conn,
        journey_timers,
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
    bulk_insert(
        conn,
        journey_enrolments,
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


def update_auto_winners(conn: Connection, *, workspace_id: str, now: datetime) -> int:
    """Decide auto-winner splits of active journeys: once each variant has ``min_sample``
    instances and one converts significantly better than the first (control) variant, route
    everyone there. Returns how many winners were set."""
    runner = Runner(conn, workspace_id=workspace_id, now=now)
    decided = 0
    for p in runner.active_journeys():
        winners = dict(p.winners)
        for node in p.definition.nodes:
            if not isinstance(node, SplitNode) or node.auto_winner is None or node.id in winners:
                continue
            stats: dict[str, tuple[int, int]] = {}
            rows = conn.execute(
                select(journey_instances.c.split_variants, journey_instances.c.status).where(
                    journey_instances.c.journey_id == p.journey_id
                )
            )
            counts: Counter[tuple[str, bool]] = Counter()
            for r in rows:
                v = (r.split_variants or {}).get(node.id)
                if v is not None:
                    counts[(v, r.status == "converted")] += 1
            for v in node.variants:
                conv = counts[(v.key, True)]
                stats[v.key] = (conv, conv + counts[(v.key, False)])
            if any(n < node.auto_winner.min_sample for _, n in stats.values()):
                continue
            control = stats[node.variants[0].key]
            best = max(stats, key=lambda k: stats[k][0] / max(stats[k][1], 1))
            if best != node.variants[0].key and ports.beats_control(
                control, stats[best], node.auto_winner.significance
            ):
                winners[node.id] = best
                decided += 1
        if winners != p.winners:
            conn.execute(
                journey_versions.update()
                .where(
                    journey_versions.c.journey_id == p.journey_id,
                    journey_versions.c.version == p.version,
                )
                .values(winners=winners)
            )
    return decided


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
    """A profile's instances, newest first, each with its transitions (node, time, reason)."""
    return repository.instances_of_profile(conn, workspace_id=workspace_id, profile_id=profile_id)


def node_counts(
    conn: Connection, *, workspace_id: str, key: str, version: int | None = None
) -> list[NodeCount]:
    """Per node (in document order): instances that entered it and instances there now."""
    row = _row(conn, workspace_id, key)
    entered, here = repository.node_tallies(conn, journey_id=row.id, version=version)
    nodes = list(row.draft.get("nodes", []))
    order = [n["id"] for n in nodes] + sorted(set(entered) - {n["id"] for n in nodes})
    return [
        NodeCount(node_id=n, entered=entered.get(n, 0), active_here=here.get(n, 0)) for n in order
    ]


def outcome_counts(conn: Connection, *, workspace_id: str, key: str) -> dict[str, int]:
    """Instances per status."""
    return repository.status_counts(conn, journey_id=_row(conn, workspace_id, key).id)


def stop_instance(conn: Connection, *, workspace_id: str, instance_id: str, now: datetime) -> None:
    """End one instance (e.g. an agent resolved the case)."""
    runner = Runner(conn, workspace_id=workspace_id, now=now)
    found = runner.load_instances(journey_instances.c.id == instance_id)
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
    journey or its rules refer to), or the given events with the stored profiles they name."""
    if events is None:
        names = set(definition.referenced_events())
        for rule in definition.rules():
            names |= referenced_events(rule)
        logged = ports.events_between(
            conn, workspace_id=workspace_id, since=since, until=until, names=names
        )
        events = [SimEvent(e.profile_id, e.event, e.timestamp, e.properties) for e in logged]
    pids = sorted({e.profile_id for e in events})
    found = ports.load_profiles(conn, workspace_id=workspace_id, profile_ids=pids)
    profiles = []
    for pid in pids:
        snap = found.get(pid, ports.ProfileSnapshot(pid))
        segments = (
            ports.memberships(conn, workspace_id=workspace_id, profile_id=pid)
            if any(referenced_segments(r) for r in definition.rules())
            else frozenset()
        )
        profiles.append(
            SimProfile(pid, dict(snap.traits), dict(snap.computed), snap.timezone, segments)
        )
    return profiles, list(events)


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
        current = conn.execute(
            select(journeys.c.id).where(
                journeys.c.workspace_id == workspace_id, journeys.c.key == definition.key
            )
        ).first()
        doc = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
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
