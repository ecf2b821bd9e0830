"""Privacy: the audit trail (who changed what, when), erasure and export of a person's data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.pagination import decode_cursor, encode_cursor
from partitur.events import service as events
from partitur.identity import service as identity
from partitur.privacy.contracts import AuditEntry, AuditPage, Erasure, ProfileExport
from partitur.profiles import service as profiles
from partitur.profiles.contracts import ProfileMerge, TimelineEvent
from partitur.storage.audit import audit_log


def audit_trail(
    conn: Connection,
    *,
    workspace_id: str,
    subject_type: str | None = None,
    subject_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
    credential: str | None = None,
) -> AuditPage:
    """The workspace's audit entries, newest first, filtered by any of subject, actor, action
    (an exact name, or a prefix ending in ``.`` such as ``journey.``), the session or token
    the actor came through, and time."""
    query = select(audit_log).where(audit_log.c.workspace_id == workspace_id)
    if subject_type is not None:
        query = query.where(audit_log.c.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(audit_log.c.subject_id == subject_id)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if credential is not None:
        query = query.where(audit_log.c.credential == credential)
    if action is not None:
        if action.endswith("."):
            query = query.where(audit_log.c.action.startswith(action, autoescape=True))
        else:
            query = query.where(audit_log.c.action == action)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    if cursor is not None:
        query = query.where(audit_log.c.id < int(decode_cursor(cursor)))
    rows = conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit + 1)).mappings().all()
    items = [AuditEntry.model_validate(dict(r)) for r in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(items=items, next_cursor=encode_cursor(items[-1].id) if more else None)


def subject_history(
    conn: Connection, *, workspace_id: str, subject_type: str, subject_id: str
) -> list[AuditEntry]:
    """Every audit entry about one subject, oldest first."""
    rows = conn.execute(
        select(audit_log)
        .where(
            audit_log.c.workspace_id == workspace_id,
            audit_log.c.subject_type == subject_type,
            audit_log.c.subject_id == subject_id,
        )
        .order_by(audit_log.c.id)
    ).mappings()
    return [AuditEntry.model_validate(dict(r)) for r in rows]


@action("profile.export", permission=Permission.erase_profiles, subject="profile")
def export_profile(
    conn: Connection, *, workspace_id: str, profile_id: str, now: datetime, actor: Actor
) -> ProfileExport:
    """Everything about the person: profile, identities, trait history, events, merges, audit."""
    profile = profiles.get_profile(conn, profile_id=profile_id, workspace_id=workspace_id)
    rows = events.profile_events(conn, workspace_id=workspace_id, profile_ids=[profile.id])
    audit = [
        e.model_dump(mode="json")
        for pid in [profile.id, *profile.merged_from]
        for e in subject_history(
            conn, workspace_id=workspace_id, subject_type="profile", subject_id=pid
        )
    ]
    describe(subject_id=profile.id)
    return ProfileExport(
        profile=profile,
        trait_history=profiles.trait_history(conn, profile_id=profile.id),
        merges=[ProfileMerge.model_validate(r) for r in identity.merges_of(conn, profile.id)],
        events=[TimelineEvent.model_validate(r._asdict()) for r in rows],
        audit=audit,
        exported_at=now,
    )


@action("profile.erase", permission=Permission.erase_profiles, subject="profile")
def erase_profile(
    conn: Connection, *, workspace_id: str, profile_id: str, now: datetime, actor: Actor
) -> Erasure:
    """GDPR erasure: delete the profile (and profiles merged into it), identities, events,
    trait history and merge records; hashes of the identifiers go on the suppression list so
    later events for them are dropped and counted. The audit row names no personal data."""
    family = profiles.merge_family(conn, workspace_id=workspace_id, profile_id=profile_id)
    hashes: list[tuple[str, str]] = []
    for pid in family:
        for kind, values in identity.identities_of(conn, pid).items():
            hashes.extend((kind, identity.value_hash(kind, v)) for v in values)
    suppressed = identity.suppress_identifiers(
        conn, workspace_id=workspace_id, hashes=hashes, now=now
    )
    events_erased = events.delete_profile_events(
        conn, workspace_id=workspace_id, profile_ids=family
    )
    graph = identity.erase_identities(conn, workspace_id=workspace_id, profile_ids=family)
    counts = profiles.erase_rows(conn, workspace_id=workspace_id, profile_ids=family)
    describe(
        subject_id=family[0],
        details={
            "profiles": counts["profiles"],
            "identities": graph["identities"],
            "events": events_erased,
            "suppressed_identifiers": suppressed,
        },
    )
    return Erasure(
        profile_id=family[0],
        profiles_erased=counts["profiles"],
        identities_erased=graph["identities"],
        events_erased=events_erased,
        suppressed_identifiers=suppressed,
        erased_at=now,
    )
