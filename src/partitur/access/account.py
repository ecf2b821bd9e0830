"""One's own account: setting a password from a link, changing it, one's name and language.
(Re-exported by ``access.service``.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.access import passwords
from partitur.access import repository as repo
from partitur.access.common import _hash, _language, _name
from partitur.access.contracts import (
    User,
    UserStatus,
)
from partitur.access.people import _user_row
from partitur.access.reads import get_user
from partitur.core.actions import (
    Actor,
    Permission,
    action,
    describe,
)
from partitur.core.errors import (
    Forbidden,
    NotFound,
    Unauthorized,
)

# --- one's own account ---------------------------------------------------------------------------


def _own_row(conn: Connection, actor: Actor) -> Any:
    if actor.kind != "user":
        raise Forbidden("only a signed-in person has an account to change", field="Authorization")
    return _user_row(conn, actor.workspace_id, actor.id)


@action("account.update", permission=Permission.read, subject="user")
def update_account(
    conn: Connection,
    *,
    workspace_id: str,
    now: datetime,
    actor: Actor,
    name: str | None = None,
    language: str | None = None,
) -> User:
    """Change one's own name or language."""
    row = _own_row(conn, actor)
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _name(name)
    if language is not None:
        values["language"] = _language(language)
    if values:
        repo.update_user(conn, row.id, updated_at=now, **values)
    describe(
        subject_id=row.id,
        before={k: getattr(row, k) for k in values},
        after=values,
    )
    return get_user(conn, workspace_id=workspace_id, user_id=row.id)


@action("account.change_password", permission=Permission.read, subject="user")
def change_password(
    conn: Connection,
    *,
    workspace_id: str,
    current_password: str,
    new_password: str,
    now: datetime,
    actor: Actor,
) -> None:
    """Change one's own password (the current one is asked for); one's other sessions end."""
    row = _own_row(conn, actor)
    if not passwords.verify_password(row.password_hash, current_password):
        raise Unauthorized("the current password is wrong", field="current_password")
    passwords.check_new_password(new_password, email=row.email)
    repo.update_user(
        conn, row.id, password_hash=passwords.hash_password(new_password), updated_at=now
    )
    ended = repo.end_sessions(
        conn,
        now=now,
        reason="password_changed",
        user_id=row.id,
        except_session=actor.credential,
    )
    describe(subject_id=row.id, details={"sessions_ended": ended})


def password_link_user(conn: Connection, *, token: str, now: datetime) -> User:
    """The person a one-time password link is for; raises ``NotFound`` for an unknown, used
    or expired link."""
    link = repo.open_password_link(conn, secret_hash=_hash(token), now=now)
    if link is None:
        raise NotFound("this link is unknown, used or expired; ask for a new one", field="token")
    user = get_user(conn, workspace_id=link.workspace_id, user_id=link.user_id)
    if user.status is UserStatus.disabled:
        raise NotFound("this link is unknown, used or expired; ask for a new one", field="token")
    return user


@action("account.activate", permission=Permission.read, subject="user")
def activate_account(
    conn: Connection,
    *,
    workspace_id: str,
    token: str,
    password: str,
    now: datetime,
    actor: Actor,
    name: str | None = None,
) -> User:
    """Set one's password with a one-time link (an invitation or a reset); the link is used
    up and an invited person becomes active. ``actor`` is the link's person
    (``password_link_user`` then ``actor_for``)."""
    user = password_link_user(conn, token=token, now=now)
    if user.id != actor.id:
        raise NotFound("this link is unknown, used or expired; ask for a new one", field="token")
    passwords.check_new_password(password, email=user.email)
    values: dict[str, Any] = {
        "password_hash": passwords.hash_password(password),
        "status": UserStatus.active.value,
        "updated_at": now,
    }
    if name is not None:
        values["name"] = _name(name)
    repo.update_user(conn, user.id, **values)
    repo.close_password_links(conn, user_id=user.id, now=now)
    repo.end_sessions(conn, now=now, reason="password_changed", user_id=user.id)
    describe(subject_id=user.id, before={"status": user.status.value}, after={"status": "active"})
    return get_user(conn, workspace_id=workspace_id, user_id=user.id)
