"""HTTP API of the workspace: sources and their write keys."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from partitur.api.deps import AdminPrincipal, ContextDep, ReadPrincipal
from partitur.core.actions import Permission
from partitur.workspaces import service
from partitur.workspaces.contracts import Source, SourceInfo

router = APIRouter(prefix="/api", tags=["workspace"])


class SourceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class SourceEnabled(BaseModel):
    enabled: bool


@router.get("/sources", response_model=list[SourceInfo])
def list_sources(ctx: ContextDep, who: ReadPrincipal) -> list[SourceInfo]:
    """The workspace's sources; each write key only for a caller who may administer the
    workspace."""
    with ctx.store.read() as conn:
        return service.source_infos(
            conn,
            workspace_id=who.workspace_id,
            with_write_keys=who.can(Permission.manage_workspace),
        )


@router.post("/sources", response_model=Source, status_code=201)
def create_source(body: SourceCreate, ctx: ContextDep, who: AdminPrincipal) -> Source:
    with ctx.store.begin() as conn:
        return service.create_source(
            conn, workspace_id=who.workspace_id, name=body.name, now=ctx.clock.now(), actor=who
        )


@router.post("/sources/{source_id}/rotate-key", response_model=Source)
def rotate_write_key(source_id: str, ctx: ContextDep, who: AdminPrincipal) -> Source:
    """A new write key for the source; the old one is refused from now on."""
    with ctx.store.begin() as conn:
        return service.rotate_write_key(
            conn, workspace_id=who.workspace_id, source_id=source_id, now=ctx.clock.now(), actor=who
        )


@router.put("/sources/{source_id}/enabled", response_model=Source)
def set_source_enabled(
    source_id: str, body: SourceEnabled, ctx: ContextDep, who: AdminPrincipal
) -> Source:
    """Disable a source (its write key is refused) or enable it again."""
    with ctx.store.begin() as conn:
        return service.set_source_enabled(
            conn,
            workspace_id=who.workspace_id,
            source_id=source_id,
            enabled=body.enabled,
            now=ctx.clock.now(),
            actor=who,
        )
