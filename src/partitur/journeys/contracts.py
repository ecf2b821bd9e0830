"""Journey contracts that cross the boundary (API, CLI, other domains)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from partitur.journeys.definition import AutoWinner, Goal


class JourneySummary(BaseModel):
    id: str
    key: str
    name: str
    status: str
    latest_version: int | None
    test_mode: bool
    created_at: datetime
    updated_at: datetime


class JourneyDetail(JourneySummary):
    draft: dict[str, Any]
    published: dict[str, Any] | None = None


class PublishedVersion(BaseModel):
    journey_id: str
    key: str
    version: int
    published_at: datetime


class TransitionInfo(BaseModel):
    node_id: str | None
    from_node: str | None
    at: datetime
    reason: str


class InstanceInfo(BaseModel):
    id: str
    journey_id: str
    journey_key: str | None = None
    version: int
    profile_id: str
    status: str
    entered_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    current_node: str | None
    converted_at: datetime | None = None
    revenue: str | None = None
    split_variants: dict[str, str] | None = None
    history: list[TransitionInfo] | None = None


class NodeCount(BaseModel):
    node_id: str
    entered: int
    active_here: int


class EnrolResult(BaseModel):
    enrolled: int
    skipped: int
    reasons: dict[str, int]


class ValidationResult(BaseModel):
    valid: bool
    problems: list[dict[str, Any]]


class BackfillResult(BaseModel):
    """What ``partitur journeys backfill`` replayed into which journeys."""

    journeys: list[str]
    since: datetime
    until: datetime
    events: int
    segment_changes: int
    steps: int
    #: sends the replay made that were withdrawn instead of delivered (without ``deliver``)
    withdrawn_sends: int = 0
    #: instances per journey key and status after the replay
    instances: dict[str, dict[str, int]]
    seconds: float


class JourneySubmission(BaseModel):
    """A draft submitted for publishing where the workspace publishes with four eyes."""

    id: str
    journey_key: str
    #: pending, approved (then published as ``published_version``), rejected, withdrawn
    status: str
    #: the version published when the draft was submitted (None: never published)
    base_version: int | None
    #: as the audit log names them (``user:usr_…``) and by name
    submitted_by: str
    submitted_by_name: str
    submitted_at: datetime
    comment: str | None = None
    decided_by: str | None = None
    decided_by_name: str | None = None
    decided_at: datetime | None = None
    decision_comment: str | None = None
    published_version: int | None = None


class DocumentChange(BaseModel):
    """One difference between the published journey and the submitted draft."""

    #: where, e.g. ``nodes[id=wait].duration`` or ``entry.event``
    path: str
    kind: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


class SubmissionReview(BaseModel):
    """What a reviewer decides on: both documents and the differences between them."""

    submission: JourneySubmission
    #: the version published now (None: the journey was never published)
    published: dict[str, Any] | None
    published_version: int | None
    #: the draft as submitted (what approval publishes)
    proposed: dict[str, Any]
    changes: list[DocumentChange]
    #: the journey's draft has been edited since it was submitted
    draft_changed_since: bool


class SplitArm(BaseModel):
    key: str
    weight: float


class SplitExperiment(BaseModel):
    """A split of one published journey version seen as an experiment: its arms with their
    configured weights (the control first), its control, the journey's goal, how it is measured
    and decided, and the winner routed to (None while it runs)."""

    journey_id: str
    journey_key: str
    version: int
    split_node: str
    arms: list[SplitArm]
    control: str
    goal: Goal | None
    settings: AutoWinner
    auto_winner: bool
    winner: str | None = None
    #: the journey is active and this is its latest version (new profiles are assigned)
    running: bool
