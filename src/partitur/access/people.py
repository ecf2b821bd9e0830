"""People and service accounts: create, invite, change role, disable, enable; the one-time
links with which people set their passwords; four-eyes and session settings.
(Re-exported by ``access.service``.)"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.access import passwords
from partitur.access import repository as repo
from partitur.access.common import (
    LINK_LIFETIME,
    PASSWORD_PAGE,
    _assignable,
    _email,
    _hash,
    _language,
    _name,
)
from partitur.access.contracts import (
    PasswordLink,
    User,
    UserKind,
    UserStatus,
)
from partitur.access.reads import get_user
from partitur.core.actions import (
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
)
from partitur.core.ids import new_id

# --- people and service accounts -----------------------------------------------------------------


def _may_manage(actor: Actor, target_role: Role) -> None:
    """Only an owner (or partitur itself) manages owners and gives the owner role."""
    if target_role is Role.owner and actor.role not in (Role.owner, Role.system):
        raise Forbidden("only an owner may manage owners", field="role")


def _keep_an_owner(conn: Connection, *, workspace_id: str, row: Any) -> None:
    """Refuse to take the owner role from (or disable) the last active owner."""
    if (
        row.role == Role.owner.value
        and row.status == UserStatus.active.value
        and repo.active_owner_count(conn, workspace_id=workspace_id) <= 1
    ):
        raise Conflict("the workspace needs at least one active owner", field="role")


def _user_row(conn: Connection, workspace_id: str, user_id: str) -> Any:
    row = repo.user_row(conn, workspace_id=workspace_id, user_id=user_id)
    if row is None:
        raise NotFound(f"no user {user_id}", field="user_id")
    return row


def _new_person(
    conn: Connection,
    *,
    workspace_id: str,
    email: str,
    name: str | None,
    role: Role,
    language: str,
    status: UserStatus,
    password_hash: str | None,
    now: datetime,
    oidc_subject: str | None = None,
) -> User:
    email = _email(email)
    if repo.user_row_by_email(conn, workspace_id=workspace_id, email=email) is not None:
        raise Conflict(f"{email} has an account in this workspace already", field="email")
    user_id = new_id("usr")
    repo.insert_user(
        conn,
        id=user_id,
        workspace_id=workspace_id,
        kind=UserKind.person.value,
        email=email,
        name=_name(name or email.partition("@")[0]),
        role=_assignable(role).value,
        status=status.value,
        password_hash=password_hash,
        language=_language(language),
        oidc_subject=oidc_subject,
        created_at=now,
        updated_at=now,
    )
    return get_user(conn, workspace_id=workspace_id, user_id=user_id)


def _password_link(
    conn: Connection, *, user: User, purpose: str, base_url: str, now: datetime
) -> PasswordLink:
    """A new one-time link for the person (older open links of theirs stop working)."""
    repo.close_password_links(conn, user_id=user.id, now=now)
    secret = secrets.token_urlsafe(32)
    expires_at = now + LINK_LIFETIME
    repo.insert_password_link(
        conn,
        id=new_id("pwl"),
        workspace_id=user.workspace_id,
        user_id=user.id,
        purpose=purpose,
        secret_hash=_hash(secret),
        created_at=now,
        expires_at=expires_at,
    )
    # in the fragment: never sent to a server, never in a log or a Referer
    url = f"{base_url.rstrip('/')}{PASSWORD_PAGE}#token={secret}"
    return PasswordLink(
        user=user,
        purpose="invite" if purpose == "invite" else "reset",
        token=secret,
        url=url,
        expires_at=expires_at,
    )


@action("user.invite", permission=Permission.manage_access, subject="user")
def invite_user(
    conn: Connection,
    *,
    workspace_id: str,
    email: str,
    role: Role,
    base_url: str,
    now: datetime,
    actor: Actor,
    name: str | None = None,
    language: str = "en",
) -> PasswordLink:
    """Invite a person: an account with ``role`` and a one-time link (7 days) to set their
    password; with single sign-on on, they may also sign in through the provider at once."""
    _may_manage(actor, role)
    user = _new_person(
        conn,
        workspace_id=workspace_id,
        email=email,
        name=name,
        role=role,
        language=language,
        status=UserStatus.invited,
        password_hash=None,
        now=now,
    )
    describe(subject_id=user.id, after={"email": user.email, "role": user.role.value})
    return _password_link(conn, user=user, purpose="invite", base_url=base_url, now=now)


@action("user.create", permission=Permission.manage_access, subject="user")
def create_user(
    conn: Connection,
    *,
    workspace_id: str,
    email: str,
    role: Role,
    password: str,
    now: datetime,
    actor: Actor,
    name: str | None = None,
    language: str = "en",
) -> User:
    """Create an active person with a password (the operator's CLI and the demo; people
    invited through the API set their own password)."""
    _may_manage(actor, role)
    passwords.check_new_password(password, email=email)
    user = _new_person(
        conn,
        workspace_id=workspace_id,
        email=email,
        name=name,
        role=role,
        language=language,
        status=UserStatus.active,
        password_hash=passwords.hash_password(password),
        now=now,
    )
    describe(subject_id=user.id, after={"email": user.email, "role": user.role.value})
    return user


@action("service_account.create", permission=Permission.manage_access, subject="user")
def create_service_account(
    conn: Connection, *, workspace_id: str, name: str, role: Role, now: datetime, actor: Actor
) -> User:
    """A service account: a name and a role for scripts and integrations, acting through
    API tokens made for it."""
    _may_manage(actor, role)
    name = _name(name)
    if repo.service_account_row(conn, workspace_id=workspace_id, name=name) is not None:
        raise Conflict(f"a service account named {name!r} exists already", field="name")
    user_id = new_id("svc")
    repo.insert_user(
        conn,
        id=user_id,
        workspace_id=workspace_id,
        kind=UserKind.service.value,
        email=None,
        name=name,
        role=_assignable(role).value,
        status=UserStatus.active.value,
        password_hash=None,
        language="en",
        oidc_subject=None,
        created_at=now,
        updated_at=now,
    )
    describe(subject_id=user_id, after={"name": name, "role": role.value})
    return get_user(conn, workspace_id=workspace_id, user_id=user_id)


@action(
    "user.change_role", permission=Permission.manage_access, subject="user", subject_key="user_id"
)
def change_role(
    conn: Connection, *, workspace_id: str, user_id: str, role: Role, now: datetime, actor: Actor
) -> User:
    """Give the person or service account another role; their sessions and tokens act with
    it from the next request on."""
    row = _user_row(conn, workspace_id, user_id)
    _may_manage(actor, Role(row.role))
    _may_manage(actor, _assignable(role))
    if role.value != row.role:
        _keep_an_owner(conn, workspace_id=workspace_id, row=row)
        repo.update_user(conn, user_id, role=role.value, updated_at=now)
    describe(before={"role": row.role}, after={"role": role.value})
    return get_user(conn, workspace_id=workspace_id, user_id=user_id)


@action(
    "user.set_enabled", permission=Permission.manage_access, subject="user", subject_key="user_id"
)
def set_user_enabled(
    conn: Connection,
    *,
    workspace_id: str,
    user_id: str,
    enabled: bool,
    now: datetime,
    actor: Actor,
) -> User:
    """Disable a person or service account — their sessions end and their tokens are refused
    at once — or enable them again (their tokens work again; sessions stay ended)."""
    row = _user_row(conn, workspace_id, user_id)
    _may_manage(actor, Role(row.role))
    if not enabled and actor.id == user_id:
        raise Conflict("you cannot disable yourself", field="enabled")
    before = row.status
    if enabled and row.status == UserStatus.disabled.value:
        # a person who never set a password stays invited
        status = UserStatus.active if row.password_hash or row.oidc_subject else UserStatus.invited
        if row.kind == UserKind.service.value:
            status = UserStatus.active
        repo.update_user(conn, user_id, status=status.value, updated_at=now)
    elif not enabled and row.status != UserStatus.disabled.value:
        _keep_an_owner(conn, workspace_id=workspace_id, row=row)
        repo.update_user(conn, user_id, status=UserStatus.disabled.value, updated_at=now)
        ended = repo.end_sessions(conn, now=now, reason="disabled", user_id=user_id)
        repo.close_password_links(conn, user_id=user_id, now=now)
        describe(details={"sessions_ended": ended})
    user = get_user(conn, workspace_id=workspace_id, user_id=user_id)
    describe(before={"status": before}, after={"status": user.status.value})
    return user


@action(
    "user.reset_password",
    permission=Permission.manage_access,
    subject="user",
    subject_key="user_id",
)
def reset_password(
    conn: Connection,
    *,
    workspace_id: str,
    user_id: str,
    base_url: str,
    now: datetime,
    actor: Actor,
) -> PasswordLink:
    """The person's password stops working and their sessions end; the returned one-time
    link lets them set a new one."""
    row = _user_row(conn, workspace_id, user_id)
    if row.kind != UserKind.person.value:
        raise Conflict("a service account has no password", field="user_id")
    if row.status == UserStatus.disabled.value:
        raise Conflict("enable the account before resetting its password", field="user_id")
    _may_manage(actor, Role(row.role))
    repo.update_user(conn, user_id, password_hash=None, updated_at=now)
    ended = repo.end_sessions(conn, now=now, reason="password_reset", user_id=user_id)
    describe(details={"sessions_ended": ended})
    user = get_user(conn, workspace_id=workspace_id, user_id=user_id)
    return _password_link(conn, user=user, purpose="reset", base_url=base_url, now=now)


@action(
    "user.set_password",
    permission=Permission.manage_access,
    subject="user",
    subject_key="user_id",
)
def set_password(
    conn: Connection,
    *,
    workspace_id: str,
    user_id: str,
    password: str,
    now: datetime,
    actor: Actor,
) -> User:
    """Give a person a password chosen by the operator (the CLI and the demo; through the
    API people set their own, from a link). An invited person becomes active; their
    sessions end."""
    row = _user_row(conn, workspace_id, user_id)
    if row.kind != UserKind.person.value:
        raise Conflict("a service account has no password", field="user_id")
    _may_manage(actor, Role(row.role))
    passwords.check_new_password(password, email=row.email)
    status = UserStatus.active.value if row.status == UserStatus.invited.value else row.status
    repo.update_user(
        conn,
        user_id,
        password_hash=passwords.hash_password(password),
        status=status,
        updated_at=now,
    )
    repo.close_password_links(conn, user_id=user_id, now=now)
    ended = repo.end_sessions(conn, now=now, reason="password_changed", user_id=user_id)
    describe(details={"sessions_ended": ended})
    return get_user(conn, workspace_id=workspace_id, user_id=user_id)


def user_by_email(conn: Connection, *, workspace_id: str, email: str) -> User | None:
    """The person with this e-mail address in the workspace, or None."""
    row = repo.user_row_by_email(conn, workspace_id=workspace_id, email=email.strip().lower())
    return repo.user_from_row(row) if row is not None else None


@action(
    "user.end_sessions", permission=Permission.manage_access, subject="user", subject_key="user_id"
)
def end_user_sessions(
    conn: Connection, *, workspace_id: str, user_id: str, now: datetime, actor: Actor
) -> int:
    """Sign the person out everywhere; returns how many sessions ended."""
    row = _user_row(conn, workspace_id, user_id)
    _may_manage(actor, Role(row.role))
    ended = repo.end_sessions(conn, now=now, reason="revoked", user_id=user_id)
    describe(details={"sessions_ended": ended})
    return ended
