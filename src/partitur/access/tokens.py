"""API tokens: created for a person or a service account, acting with that principal's role
(optionally scoped down), listed and revoked.
(Re-exported by ``access.service``.)"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.access import repository as repo
from partitur.access.common import SCOPE_ACCOUNTS, _hash, _name
from partitur.access.contracts import (
    IssuedToken,
    Scope,
    UserKind,
    UserStatus,
)
from partitur.access.people import _may_manage, _user_row
from partitur.core.actions import (
    POLICY,
    Actor,
    Permission,
    Role,
    action,
    describe,
)
from partitur.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from partitur.core.ids import new_id

# --- API tokens ----------------------------------------------------------------------------------


def _scope_account(
    conn: Connection, *, workspace_id: str, scopes: list[Scope], now: datetime
) -> tuple[Any, frozenset[Permission] | None]:
    """The service account that stands for the highest of ``scopes`` (made when missing)."""
    scope = max(scopes, key=[Scope.read, Scope.write, Scope.admin].index)
    name, role, permissions = SCOPE_ACCOUNTS[scope]
    row = repo.service_account_row(conn, workspace_id=workspace_id, name=name)
    if row is None:
        repo.insert_user(
            conn,
            id=new_id("svc"),
            workspace_id=workspace_id,
            kind=UserKind.service.value,
            email=None,
            name=name,
            role=role.value,
            status=UserStatus.active.value,
            password_hash=None,
            language="en",
            oidc_subject=None,
            created_at=now,
            updated_at=now,
        )
        row = repo.service_account_row(conn, workspace_id=workspace_id, name=name)
    return row, permissions


def _effective(actor: Actor) -> frozenset[Permission]:
    granted = POLICY[actor.role]
    return granted if actor.permissions is None else granted & actor.permissions


@action("token.create", permission=Permission.read, subject="token")
def create_token(
    conn: Connection,
    *,
    workspace_id: str,
    name: str,
    now: datetime,
    actor: Actor,
    user_id: str | None = None,
    permissions: list[Permission] | None = None,
    scopes: list[Scope] | None = None,
) -> IssuedToken:
    """Issue an API token; the token text is returned only here.

    It acts as ``user_id`` (a person or service account; another's needs ``access.manage``),
    as the caller when ``user_id`` is left out, or — given ``scopes`` of the first tokens —
    as the workspace's service account of that scope. ``permissions`` scope it down; a token
    never holds what its owner's role or its maker lacks."""
    name = _name(name)
    if scopes:
        actor.require(Permission.manage_access)
        if user_id is not None:
            raise ValidationFailed("give user_id or scopes, not both", field="scopes")
        owner, scoped = _scope_account(conn, workspace_id=workspace_id, scopes=scopes, now=now)
        if permissions is None and scoped is not None:
            permissions = sorted(scoped, key=lambda p: p.value)
    elif user_id is None:
        if actor.kind not in ("user", "service"):
            raise ValidationFailed(
                "name the token's owner (user_id) or its scopes", field="user_id"
            )
        owner = _user_row(conn, workspace_id, actor.id)
    else:
        owner = _user_row(conn, workspace_id, user_id)
        if owner.id != actor.id:
            actor.require(Permission.manage_access)
            _may_manage(actor, Role(owner.role))
    if owner.status != UserStatus.active.value:
        raise Conflict("a token can only be made for an active account", field="user_id")
    role_grants = POLICY[Role(owner.role)]
    wanted = role_grants if permissions is None else frozenset(permissions)
    if not wanted <= role_grants:
        extra = ", ".join(sorted(p.value for p in wanted - role_grants))
        raise ValidationFailed(f"the owner's role does not hold {extra}", field="permissions")
    if not wanted <= _effective(actor):
        extra = ", ".join(sorted(p.value for p in wanted - _effective(actor)))
        raise Forbidden(f"you cannot give a token what you lack: {extra}", field="permissions")
    secret = "ptk_" + secrets.token_urlsafe(32)
    token_id = new_id("tok")
    stored = None if permissions is None else sorted(p.value for p in wanted)
    repo.insert_token(
        conn,
        id=token_id,
        workspace_id=workspace_id,
        name=name,
        token_hash=_hash(secret),
        scopes=[s.value for s in scopes or []],
        created_at=now,
        user_id=owner.id,
        permissions=stored,
    )
    issued = repo.token(conn, workspace_id=workspace_id, token_id=token_id)
    assert issued is not None
    describe(
        subject_id=token_id,
        after={"name": name, "user_id": owner.id, "permissions": stored},
    )
    return IssuedToken(**issued.model_dump(), token=secret)


@action("token.revoke", permission=Permission.read, subject="token", subject_key="token_id")
def revoke_token(
    conn: Connection, *, workspace_id: str, token_id: str, now: datetime, actor: Actor
) -> None:
    """Revoke a token (one's own, or any with ``access.manage``); refused from then on,
    with the browser sessions opened with it."""
    found = repo.token(conn, workspace_id=workspace_id, token_id=token_id)
    if found is None:
        raise NotFound(f"no token {token_id}", field="token_id")
    if found.user_id != actor.id:
        actor.require(Permission.manage_access)
    repo.revoke_token(conn, token_id=token_id, now=now)
    describe(details={"name": found.name, "user_id": found.user_id})
