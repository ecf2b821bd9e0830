"""What crosses the profiles boundary: the unified profile and its parts, and the typed
structures identity resolution hands over in bulk (a profile's state held in memory, trait
history, a batch's activity, rows formatted for the store)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

from partitur.identity.contracts import ProfileMerge as ProfileMerge


class Profile(BaseModel):
    """One person: current traits, computed traits, identities and where to reach them.

    ``computed`` holds ``first_seen``, ``last_seen``, ``event_count``, ``order_count``,
    ``revenue`` (a float sum in the store's currency), ``last_channel`` and anything other
    domains set (scores). ``merged_from`` lists the ids folded into this profile.
    """

    id: str
    workspace_id: str
    traits: dict[str, Any] = Field(default_factory=dict)
    computed: dict[str, Any] = Field(default_factory=dict)
    timezone: str | None = None
    locale: str | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    identities: dict[str, list[str]] = Field(default_factory=dict)
    is_test: bool = False
    created_at: datetime
    updated_at: datetime
    #: set when the id asked for was merged into this profile (the id asked for)
    requested_id: str | None = None
    merged_from: list[str] = Field(default_factory=list)


class TraitChange(BaseModel):
    trait: str
    value: Any = None
    changed_at: datetime
    source: str | None = None


class TimelineEvent(BaseModel):
    seq: int
    type: str
    event: str | None = None
    source_id: str
    message_id: str
    user_id: str | None = None
    anonymous_id: str | None = None
    timestamp: datetime
    received_at: datetime
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None


class ImportReport(BaseModel):
    rows: int
    created: int
    updated: int
    skipped: int
    rejected: int
    reject_file: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileSnapshot:
    """What other domains read about a person in bulk (journeys, segments, decisions, channels):
    the live profile's traits, computed traits and where the person lives. A dataclass, not a
    model: the engine reads thousands per second."""

    id: str
    workspace_id: str
    traits: dict[str, Any] = field(default_factory=dict)
    computed: dict[str, Any] = field(default_factory=dict)
    timezone: str | None = None
    locale: str | None = None
    is_test: bool = False


class ProfileSummary(BaseModel):
    """A line of a list of people: who they are and how active."""

    id: str
    #: first and last name, else the ``name`` trait, else the email; None for an anonymous
    #: visitor
    name: str | None = None
    email: str | None = None
    user_id: str | None = None
    last_seen_at: datetime | None = None
    event_count: int | None = None
    #: set when the id asked for was merged into this profile (the id asked for)
    requested_id: str | None = None


class ProfileCount(BaseModel):
    #: unified people (profiles merged into another do not count)
    profiles: int


# -- bulk: what identity resolution hands to profiles ------------------------------------------


@dataclass(slots=True)
class ProfileState:
    """A profile held in memory while a batch changes it (``profiles.service.load_states``,
    folded by ``apply_traits``, ``merge_states``, ``fold_activity``, ``apply_place``).
    ``trait_times`` holds when each trait (and ``@timezone``, ``@locale``) was last set, as
    ``traits.stamp`` text."""

    id: str
    workspace_id: str
    created_at: datetime
    traits: dict[str, Any] = field(default_factory=dict)
    trait_times: dict[str, str] = field(default_factory=dict)
    computed: dict[str, Any] = field(default_factory=dict)
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    timezone: str | None = None
    locale: str | None = None
    is_new: bool = False
    dirty: bool = False


class HistoryRow(NamedTuple):
    """One change of one trait (a named tuple: the resolver makes hundreds of thousands)."""

    profile_id: str
    trait: str
    value: Any
    changed_at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class ProfileActivity:
    """A batch's activity of profiles not held in memory, one list per field (a backlog's pass
    has hundreds of thousands of profiles: columns, not an object each), for
    ``profiles.service.apply_activity``. Timestamps are raw as the driver returned them;
    ``locale_ts`` / ``timezone_ts`` are those of the latest message that carried a locale /
    timezone (None: no message did)."""

    profile_ids: list[str] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    first_ts: list[Any] = field(default_factory=list)
    last_ts: list[Any] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)
    revenue: list[float] = field(default_factory=list)
    #: the channel of each profile's latest event
    channels: list[str | None] = field(default_factory=list)
    locales: list[Any] = field(default_factory=list)
    locale_ts: list[Any] = field(default_factory=list)
    timezones: list[Any] = field(default_factory=list)
    timezone_ts: list[Any] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.profile_ids)


@dataclass(frozen=True, slots=True)
class StateColumns:
    """Profile states formatted for the store, one list per column: JSON documents as text,
    times as the store takes them (``storage.bulk.db_times``)."""

    ids: list[str]
    traits: list[str]
    trait_times: list[str]
    computed: list[str]
    first_seen_at: list[Any]
    last_seen_at: list[Any]
    timezones: list[str | None]
    locales: list[str | None]


@dataclass(frozen=True, slots=True)
class ProfileRows:
    """New and changed profiles formatted for the store (``profiles.service.profile_rows``),
    built apart from writing them so that a background writer's caller builds them while the
    writer works."""

    new: StateColumns
    new_workspace_ids: list[str]
    new_created_at: list[Any]
    changed: StateColumns


@dataclass(frozen=True, slots=True)
class HistoryRows:
    """Trait history formatted for the store (``profiles.service.history_rows``), one list per
    column, in the order given."""

    profile_ids: list[str]
    traits: list[str]
    values: list[str]
    changed_at: list[Any]
    sources: list[str]
