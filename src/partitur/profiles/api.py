"""Profiles over HTTP: read, look up, timeline, traits, GDPR export and erasure.

A merged profile id answers with the survivor (HTTP 200); ``requested_id`` then names the id
asked for and ``id`` the survivor, so clients can update stored ids.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from partitur.api.deps import AdminPrincipal, ContextDep, ReadPrincipal, WritePrincipal
from partitur.core.clock import parse_iso8601
from partitur.core.errors import BadRequest, ValidationFailed
from partitur.core.pagination import Page, decode_cursor, encode_cursor
from partitur.privacy import service as privacy
from partitur.privacy.contracts import Erasure, ProfileExport
from partitur.profiles import service
from partitur.profiles.contracts import (
    Profile,
    ProfileCount,
    ProfileMerge,
    ProfileSummary,
    TimelineEvent,
)

router = APIRouter(prefix="/api/profiles", tags=["profiles"])


class TraitsPatch(BaseModel):
    traits: dict[str, Any] = Field(min_length=1, description="traits to set; history is kept")


@router.get("", response_model=Profile)
def lookup_profile(
    ctx: ContextDep,
    who: ReadPrincipal,
    user_id: str | None = None,
    email: str | None = None,
    anonymous_id: str | None = None,
    phone: str | None = None,
) -> Profile:
    """Find the profile holding exactly one of the given identifiers."""
    given = {
        k: v
        for k, v in {
            "user_id": user_id,
            "email": email,
            "anonymous_id": anonymous_id,
            "phone": phone,
        }.items()
        if v is not None
    }
    if len(given) != 1:
        raise ValidationFailed(
            "give exactly one of user_id, email, anonymous_id, phone", field="user_id"
        )
    ((kind, value),) = given.items()
    with ctx.store.read() as conn:
        return service.find_profile(conn, workspace_id=who.workspace_id, kind=kind, value=value)


@router.get("/search", response_model=list[ProfileSummary])
def search_profiles(
    ctx: ContextDep,
    who: ReadPrincipal,
    q: str = Query(
        "",
        max_length=255,
        description="an email, user id, anonymous id, phone, "
        "external id or profile id; empty: the recently active people",
    ),
    limit: int = Query(25, ge=1, le=100),
) -> list[ProfileSummary]:
    """People with the identifier ``q`` (normalised as identity resolution stores it, so an
    email matches in any case), or without ``q`` the most recently active people."""
    with ctx.store.read() as conn:
        if not q.strip():
            return service.recent_profiles(conn, workspace_id=who.workspace_id, limit=limit)
        return service.search_profiles(
            conn,
            workspace_id=who.workspace_id,
            query=q,
            external_kinds=list(ctx.settings.identity_external_id_traits),
            limit=limit,
        )


@router.get("/summaries", response_model=list[ProfileSummary])
def profile_summaries(
    ctx: ContextDep,
    who: ReadPrincipal,
    ids: list[str] = Query(min_length=1, max_length=200, description="profile ids (repeat)"),
) -> list[ProfileSummary]:
    """Name, email and activity of each given profile (for lists that hold profile ids); a
    merged id is answered by its survivor with ``requested_id`` set, unknown ids are left
    out."""
    with ctx.store.read() as conn:
        return service.profile_summaries(conn, workspace_id=who.workspace_id, profile_ids=ids)


@router.get("/count", response_model=ProfileCount)
def count_profiles(ctx: ContextDep, who: ReadPrincipal) -> ProfileCount:
    """How many people the workspace knows (merged profiles count once)."""
    with ctx.store.read() as conn:
        return ProfileCount(profiles=service.count_profiles(conn, workspace_id=who.workspace_id))


@router.get("/{profile_id}", response_model=Profile)
def get_profile(profile_id: str, ctx: ContextDep, who: ReadPrincipal) -> Profile:
    with ctx.store.read() as conn:
        return service.get_profile(conn, profile_id=profile_id, workspace_id=who.workspace_id)


@router.get("/{profile_id}/merges", response_model=list[ProfileMerge])
def get_merges(profile_id: str, ctx: ContextDep, who: ReadPrincipal) -> list[ProfileMerge]:
    with ctx.store.read() as conn:
        return service.list_merges(conn, workspace_id=who.workspace_id, profile_id=profile_id)


def _before(cursor: str | None) -> tuple[Any, int] | None:
    if cursor is None:
        return None
    raw = decode_cursor(cursor)
    moment, _, seq = str(raw).rpartition("|")
    try:
        return parse_iso8601(moment), int(seq)
    except ValueError as exc:
        raise BadRequest("cursor is not valid", field="cursor") from exc


@router.get("/{profile_id}/events", response_model=Page[TimelineEvent])
def get_events(
    profile_id: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> Page[TimelineEvent]:
    """The timeline, newest first, ``limit`` per page; pass ``next_cursor`` for the next page."""
    with ctx.store.read() as conn:
        _, items = service.list_events(
            conn,
            workspace_id=who.workspace_id,
            profile_id=profile_id,
            before=_before(cursor),
            limit=limit + 1,
        )
    more = len(items) > limit
    items = items[:limit]
    next_cursor = None
    if more and items:
        last = items[-1]
        next_cursor = encode_cursor(f"{last.timestamp.isoformat()}|{last.seq}")
    return Page[TimelineEvent](items=items, next_cursor=next_cursor)


@router.patch("/{profile_id}", response_model=Profile)
def patch_traits(
    profile_id: str, body: TraitsPatch, ctx: ContextDep, who: WritePrincipal
) -> Profile:
    with ctx.store.begin() as conn:
        profile = service.update_traits(
            conn,
            workspace_id=who.workspace_id,
            profile_id=profile_id,
            traits=body.traits,
            now=ctx.clock.now(),
            source="api",
            actor=who,
        )
    ctx.signals.notify("profiles")
    return profile


@router.get("/{profile_id}/export", response_model=ProfileExport)
def export_profile(profile_id: str, ctx: ContextDep, who: AdminPrincipal) -> ProfileExport:
    """GDPR access: everything partitur holds about the person."""
    with ctx.store.begin() as conn:
        return privacy.export_profile(
            conn,
            workspace_id=who.workspace_id,
            profile_id=profile_id,
            now=ctx.clock.now(),
            actor=who,
        )


@router.delete("/{profile_id}", response_model=Erasure)
def erase_profile(profile_id: str, ctx: ContextDep, who: AdminPrincipal) -> Erasure:
    """GDPR erasure; later events for the erased identifiers are dropped and counted."""
    with ctx.store.begin() as conn:
        erased = privacy.erase_profile(
            conn,
            workspace_id=who.workspace_id,
            profile_id=profile_id,
            now=ctx.clock.now(),
            actor=who,
        )
    ctx.signals.notify("profiles")
    return erased
