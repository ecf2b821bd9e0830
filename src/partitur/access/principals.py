"""Who is calling: the person or service account behind a token or a session cookie, with
their current role (re-checked on every request, so disabling someone takes effect at once).
(Re-exported by ``access.service``.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from partitur.access import repository as repo
from partitur.access.common import TOUCH_EVERY, _hash
from partitur.access.contracts import (
    SessionInfo,
    SessionMethod,
    User,
    UserKind,
    UserStatus,
)
from partitur.core.actions import (
    POLICY,
    Actor,
    Permission,
    Role,
)
from partitur.core.errors import (
    Unauthorized,
)
from partitur.workspaces import service as workspaces

# --- who is calling ------------------------------------------------------------------------------


def _actor(row: Any, *, permissions: Any = None, credential: str | None = None) -> Actor:
    """The actor a user row stands for (a person: ``user:``, a service account: ``service:``)."""
    return Actor(
        workspace_id=row.workspace_id,
        kind="service" if row.kind == UserKind.service.value else "user",
        id=row.id,
        role=Role(row.role),
        permissions=None if permissions is None else frozenset(Permission(p) for p in permissions),
        name=row.name,
        credential=credential,
    )


def actor_for(user: User, *, credential: str | None = None) -> Actor:
    """The actor of a person or service account acting in their own right."""
    return Actor(
        workspace_id=user.workspace_id,
        kind="service" if user.kind is UserKind.service else "user",
        id=user.id,
        role=user.role,
        name=user.name,
        credential=credential,
    )


def authenticate_token(conn: Connection, token: str) -> Actor:
    """The actor an API token stands for: its owner with the owner's current role, scoped
    down to the token's permissions. Raises ``Unauthorized`` for an unknown or revoked token
    and for a token whose owner is disabled."""
    row = repo.principal_of_token(conn, _hash(token))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("unknown or revoked token")
    if row.status != UserStatus.active.value:
        raise Unauthorized("the token's owner is disabled")
    return _actor(row, permissions=row.permissions, credential=row.token_id)


@dataclass(frozen=True)
class ResolvedSession:
    """A browser session that is in force, and who it signs in."""

    actor: Actor
    session_id: str
    csrf_token: str
    expires_at: datetime
    #: the last-seen time is old enough to be written again (``touch_session``)
    stale: bool


def resolve_session(conn: Connection, *, secret: str, now: datetime) -> ResolvedSession:
    """The session whose cookie carries ``secret``; raises ``Unauthorized`` when there is
    none or it has ended, expired (idle or absolute), its person is disabled, or the token it
    was opened with has been revoked."""
    row = repo.session_with_principal(conn, _hash(secret))
    if row is None or row.ended_at is not None:
        raise Unauthorized("the session has ended; sign in again")
    idle = timedelta(
        minutes=repo.settings(conn, workspace_id=row.workspace_id).session_idle_minutes
    )
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        raise Unauthorized("the session has expired; sign in again")
    if row.status != UserStatus.active.value:
        raise Unauthorized("this account is disabled")
    if row.method == SessionMethod.token.value and (
        row.token_id is None or row.token_revoked_at is not None
    ):
        raise Unauthorized("the token of this session has been revoked; sign in again")
    return ResolvedSession(
        actor=_actor(row, permissions=row.token_permissions, credential=row.session_id),
        session_id=row.session_id,
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
        stale=row.last_seen_at + TOUCH_EVERY <= now,
    )


def touch_session(conn: Connection, *, session_id: str, now: datetime) -> None:
    """Note that the session was used (it stays open for another idle time). Bookkeeping of
    the session itself, not an action."""
    repo.touch_session(conn, session_id=session_id, now=now)


def session_info(
    conn: Connection,
    *,
    actor: Actor,
    csrf_token: str,
    session_id: str | None = None,
    expires_at: datetime | None = None,
) -> SessionInfo:
    """Who ``actor`` is, for the browser (``GET /api/session``)."""
    workspace = workspaces.get_workspace(conn, workspace_id=actor.workspace_id)
    granted = (
        POLICY[actor.role] if actor.permissions is None else POLICY[actor.role] & actor.permissions
    )
    user = None
    if actor.kind in ("user", "service"):
        row = repo.user_row(conn, workspace_id=actor.workspace_id, user_id=actor.id)
        user = repo.user_from_row(row) if row is not None else None
    return SessionInfo(
        workspace_id=workspace.id,
        workspace_name=workspace.name,
        actor=actor.label,
        name=actor.name,
        role=actor.role.value,
        permissions=sorted(p.value for p in granted),
        csrf_token=csrf_token,
        user_id=user.id if user else None,
        kind=user.kind if user else None,
        email=user.email if user else None,
        language=user.language if user else "en",
        session_id=session_id,
        expires_at=expires_at,
    )
