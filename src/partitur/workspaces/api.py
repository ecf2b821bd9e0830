"""HTTP API of the workspace: sources and write keys, API tokens, the browser session."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from partitur.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AdminPrincipal,
    ContextDep,
    ReadPrincipal,
    client_ip,
    request_id,
)
from partitur.core.actions import POLICY, Permission
from partitur.core.errors import Unauthorized
from partitur.workspaces import service
from partitur.workspaces.contracts import (
    ApiToken,
    IssuedToken,
    Scope,
    SessionInfo,
    SessionStart,
    Source,
    SourceInfo,
)

router = APIRouter(prefix="/api", tags=["workspace"])

#: a browser session lasts this long (seconds)
SESSION_MAX_AGE = 12 * 3600


class SourceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class SourceEnabled(BaseModel):
    enabled: bool


class TokenCreate(BaseModel):
    name: str = Field(default="api", min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


@router.get("/sources", response_model=list[SourceInfo])
def list_sources(ctx: ContextDep, who: ReadPrincipal) -> list[SourceInfo]:
    """The workspace's sources; each write key only for a caller with the admin scope."""
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
            actor=who,
        )


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, ctx: ContextDep, who: AdminPrincipal) -> Response:
    with ctx.store.begin() as conn:
        service.revoke_token(
            conn, workspace_id=who.workspace_id, token_id=token_id, now=ctx.clock.now(), actor=who
        )
    return Response(status_code=204)


# --- the browser session ---------------------------------------------------------------------


def _session_info(ctx: ContextDep, who: ReadPrincipal, csrf: str) -> SessionInfo:
    with ctx.store.read() as conn:
        workspace = service.get_workspace(conn, workspace_id=who.workspace_id)
    granted = POLICY[who.role] if who.permissions is None else POLICY[who.role] & who.permissions
    return SessionInfo(
        workspace_id=workspace.id,
        workspace_name=workspace.name,
        actor=who.label,
        name=who.name,
        role=who.role.value,
        permissions=sorted(p.value for p in granted),
        csrf_token=csrf,
    )


@router.post("/session", response_model=SessionInfo, tags=["session"])
def start_session(
    body: SessionStart, request: Request, response: Response, ctx: ContextDep
) -> SessionInfo:
    """Sign a browser in: sets the HttpOnly session cookie and the CSRF cookie; every later
    request that changes something repeats the CSRF token in ``X-CSRF-Token``."""
    token = body.token.strip()
    if not token:
        raise Unauthorized("enter an API token", field="token")
    with ctx.store.begin() as conn:
        who = service.authenticate(conn, token).for_request(
            request_id=request_id(request), ip=client_ip(request)
        )
        service.sign_in(conn, workspace_id=who.workspace_id, now=ctx.clock.now(), actor=who)
    csrf = secrets.token_urlsafe(24)
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )
    # readable by the page's script, which sends it back as X-CSRF-Token
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=SESSION_MAX_AGE, samesite="strict", secure=secure, path="/"
    )
    return _session_info(ctx, who, csrf)


@router.get("/session", response_model=SessionInfo, tags=["session"])
def current_session(request: Request, ctx: ContextDep, who: ReadPrincipal) -> SessionInfo:
    """Who is signed in (401 when nobody is)."""
    return _session_info(ctx, who, request.cookies.get(CSRF_COOKIE, ""))


@router.delete("/session", status_code=204, tags=["session"])
def end_session(ctx: ContextDep, who: ReadPrincipal) -> Response:
    """Sign the browser out (the cookies are deleted)."""
    with ctx.store.begin() as conn:
        service.sign_out(conn, workspace_id=who.workspace_id, now=ctx.clock.now(), actor=who)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
