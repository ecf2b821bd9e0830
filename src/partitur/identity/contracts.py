"""What crosses the identity boundary: merges of profiles, erased identifiers, the resolver's
progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ProfileMerge(BaseModel):
    """Two profiles found to be one person: ``merged_id`` was folded into ``survivor_id``
    because of the event ``event_seq`` (``reason`` names the linking identifier's kind)."""

    survivor_id: str
    merged_id: str
    merged_at: datetime
    event_seq: int | None = None
    reason: dict[str, Any] | None = None


class SuppressedIdentifier(BaseModel):
    """An identifier of an erased person (only its SHA-256 is kept): messages carrying it are
    dropped and counted, never resolved into a new profile."""

    kind: str
    value_hash: str
    erased_at: datetime
    dropped_count: int


class ResolutionStatus(BaseModel):
    """How far identity resolution has come through the event log."""

    #: every event with ``seq`` up to here has its profile (or was dropped)
    resolved_position: int
    #: the newest event's ``seq``
    latest_seq: int
    #: events stored but not resolved yet (the backlog)
    pending_events: int
