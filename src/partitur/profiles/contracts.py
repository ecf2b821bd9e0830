"""What crosses the profiles boundary: the unified profile and its parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
