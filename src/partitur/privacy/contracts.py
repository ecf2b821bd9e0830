"""What the privacy domain hands out: audit entries (and, with erasure, exports)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from partitur.profiles.contracts import Profile, ProfileMerge, TimelineEvent, TraitChange


class AuditEntry(BaseModel):
    id: int
    at: datetime
    #: ``user:usr_…`` (a person), ``service:svc_…`` (a service account), ``system:journeys``,
    #: ``cli:<login>``, ``customer:prf_…``, ``anonymous`` (a failed sign-in); ``token:tok_…``
    #: in entries from before people and service accounts
    actor: str
    #: the action's name, e.g. ``journey.publish``
    action: str
    subject_type: str
    subject_id: str
    details: dict[str, Any] | None = None
    before: Any = None
    after: Any = None
    request_id: str | None = None
    ip: str | None = None
    #: the browser session (``ses_…``) or API token (``tok_…``) the actor came through
    credential: str | None = None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    #: pass as ``cursor`` for the next (older) page; None on the last page
    next_cursor: str | None = None


class ProfileExport(BaseModel):
    """Everything partitur holds about one person (GDPR access)."""

    profile: Profile
    trait_history: list[TraitChange]
    merges: list[ProfileMerge]
    events: list[TimelineEvent]
    audit: list[dict[str, Any]]
    exported_at: datetime


class Erasure(BaseModel):
    profile_id: str
    profiles_erased: int
    identities_erased: int
    events_erased: int
    suppressed_identifiers: int
    erased_at: datetime
