from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class Scope(StrEnum):
    read = "read"
    write = "write"
    admin = "admin"


#: A scope grants itself and every scope below it.
SCOPE_RANK = {Scope.read: 1, Scope.write: 2, Scope.admin: 3}


class Workspace(BaseModel):
    id: str
    name: str
    created_at: datetime


class Source(BaseModel):
    id: str
    workspace_id: str
    name: str
    write_key: str
    created_at: datetime
    #: a disabled source's write key is refused
    disabled_at: datetime | None = None


class SourceInfo(BaseModel):
    """A source as every reader sees it: the write key only for admins."""

    id: str
    name: str
    created_at: datetime
    #: the source's write key; None unless the caller may administer the workspace
    write_key: str | None = None


class ApiToken(BaseModel):
    id: str
    workspace_id: str
    name: str
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None = None


class IssuedToken(ApiToken):
    """Returned once, at creation: the only time the token itself is shown."""

    token: str


class SessionInfo(BaseModel):
    """Who is signed in to this browser session (``GET /api/session``)."""

    workspace_id: str
    workspace_name: str
    actor: str
    name: str
    role: str
    permissions: list[str]
    #: repeat it in ``X-CSRF-Token`` on every request that changes something
    csrf_token: str


class SessionStart(BaseModel):
    """Sign in with an API token (people sign in with e-mail and password or SSO)."""

    token: str
