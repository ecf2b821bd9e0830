"""FastAPI dependencies shared by every router: the context and the caller's identity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from partitur.context import Context
from partitur.core.errors import Forbidden, Unauthorized
from partitur.workspaces.contracts import Principal, Scope
from partitur.workspaces.service import authenticate


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]


def require(scope: Scope) -> Callable[..., Principal]:
    """A dependency that admits a bearer token holding ``scope`` (or a higher one)."""

    def dependency(request: Request, ctx: ContextDep) -> Principal:
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token:
            raise Unauthorized(
                "send an API token as 'Authorization: Bearer <token>'", field="Authorization"
            )
        with ctx.store.read() as conn:
            principal = authenticate(conn, token.strip())
        if not principal.allows(scope):
            raise Forbidden(f"this token lacks the '{scope.value}' scope", field="Authorization")
        return principal

    return dependency


ReadPrincipal = Annotated[Principal, Depends(require(Scope.read))]
WritePrincipal = Annotated[Principal, Depends(require(Scope.write))]
AdminPrincipal = Annotated[Principal, Depends(require(Scope.admin))]
