from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from partitur.api.deps import AdminPrincipal, ContextDep, ReadPrincipal
from partitur.workspaces import service
from partitur.workspaces.contracts import ApiToken, IssuedToken, Scope, Source, SourceInfo

router = APIRouter(prefix="/api", tags=["workspace"])


class SourceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class TokenCreate(BaseModel):
    name: str = Field(default="api", min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


@router.get("/sources", response_model=list[SourceInfo])
def list_sources(ctx: ContextDep, who: ReadPrincipal) -> list[SourceInfo]:
    """The workspace's sources; each write key only for a caller with the admin scope."""
    with ctx.store.read() as conn:
        return service.source_infos(
            conn, workspace_id=who.workspace_id, with_write_keys=who.allows(Scope.admin)
        )


@router.post("/sources", response_model=Source, status_code=201)
def create_source(body: SourceCreate, ctx: ContextDep, who: AdminPrincipal) -> Source:
    with ctx.store.begin() as conn:
        return service.create_source(
            conn,
            workspace_id=who.workspace_id,
            name=body.name,
            now=ctx.clock.now(),
            actor=who.token_id,
        )


@router.get("/tokens", response_model=list[ApiToken])
def list_tokens(ctx: ContextDep, who: AdminPrincipal) -> list[ApiToken]:
    with ctx.store.read() as conn:
        return service.list_tokens(conn, workspace_id=who.workspace_id)


@router.post("/tokens", response_model=IssuedToken, status_code=201)
def create_token(body: TokenCreate, ctx: ContextDep, who: AdminPrincipal) -> IssuedToken:
    with ctx.store.begin() as conn:
        return service.create_token(
            conn,
            workspace_id=who.workspace_id,
            name=body.name,
            scopes=body.scopes,
            now=ctx.clock.now(),
            actor=who.token_id,
        )
