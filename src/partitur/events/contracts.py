"""What crosses the events boundary: ingestion results, rejections, stored events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

MessageType = Literal["identify", "track", "page", "screen", "group", "alias"]
MESSAGE_TYPES: frozenset[str] = frozenset({"identify", "track", "page", "screen", "group", "alias"})

#: Segment's limits: one message may hold 32 KB, one batch request 500 KB.
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024

#: An event whose anonymousId is ``profile:<profile id>`` belongs to that profile: partitur's own
#: events (delivery feedback, fan-out copies) name their person this way, and identity
#: resolution puts them on the live profile instead of starting an anonymous one.
PROFILE_ANONYMOUS_PREFIX = "profile:"


class Rejection(BaseModel):
    """One message that was not accepted; ``index`` is its position in the request (0-based)
    or, for imports, its line number (1-based)."""

    index: int
    reason: str
    field: str | None = None


class IngestResult(BaseModel):
    accepted: int = 0
    #: messages already stored before (same source and messageId): stored once, not an error
    duplicates: int = 0
    rejected: list[Rejection] = Field(default_factory=list)


class StoredEvent(BaseModel):
    """One row of the event log."""

    seq: int
    message_id: str
    type: MessageType
    event: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    profile_id: str | None = None
    #: clock-skew corrected time of the event
    timestamp: datetime
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    received_at: datetime
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None
    source_id: str


class QuarantinedMessage(BaseModel):
    """A message that was refused, kept with the reason so nothing is silently lost."""

    id: int
    source_id: str | None = None
    received_at: datetime
    origin: str
    position: str | None = None
    reason: str
    field: str | None = None
    payload: str


class ImportSummary(BaseModel):
    """What ``partitur import events`` did."""

    file: str
    source: str
    format: Literal["jsonl", "csv"]
    lines: int
    accepted: int
    duplicates: int
    rejected: int
    rejects_file: str | None = None
    seconds: float
    events_per_second: float


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event of the log as the journey engine reads it (a feed page or a history window)."""

    seq: int
    profile_id: str
    event: str
    timestamp: datetime
    properties: dict[str, Any]
    #: when partitur received it: a journey reacts only to events received once it was live
    received_at: datetime | None = None


class SourceVolume(BaseModel):
    """A source's events in the period of an ``EventVolume``."""

    source_id: str
    #: the source's name (``other`` for events of a source that no longer exists)
    name: str
    events: int


class DayVolume(BaseModel):
    """Events of one UTC day, per source id."""

    day: date
    total: int
    by_source: dict[str, int]


class EventVolume(BaseModel):
    """The event log at a glance: totals, and the events per day and source over a period of
    whole UTC days that ends on the day of the newest event (or today, if that is earlier)."""

    events: int
    #: events in the 24 hours before now
    events_last_day: int
    #: refused messages kept in quarantine
    quarantined: int
    first_day: date
    last_day: date
    #: events in the period
    period_total: int
    sources: list[SourceVolume]
    days: list[DayVolume]
