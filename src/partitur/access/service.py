"""Access: who may act in a workspace, and how they prove it.

- **People and service accounts** (``users``) hold one role each (``core.actions.POLICY``
  says what a role may do). People are invited (a one-time link to set their password), may be
  disabled (their sessions and tokens stop working at once) and sign in with e-mail and
  password or with the workspace's OpenID provider; service accounts act only through tokens.
- **API tokens** belong to a person or a service account and act with that principal's
  current role, optionally scoped down to fewer permissions.
- **Browser sessions** are rows: the cookie carries a random secret (only its hash is kept),
  the session ends after the workspace's idle time or absolute lifetime, on sign-out, when it
  is revoked, or when its person is disabled or changes their password.
- **Failed sign-ins** are audited (without the password) and throttled per account and per
  IP address.
- **Settings**: four-eyes publishing and session lifetimes per workspace; the OpenID provider
  (client secret encrypted at rest with ``core.crypto``).

Every change is an action (``core.actions``) audited with the person who made it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import Connection

from partitur.access import oidc, passwords
from partitur.access import repository as repo
from partitur.access.contracts import (
    DEFAULT_BUTTON_LABEL,
    AccessSettings,
    ApiToken,
    IssuedToken,
    OidcSettings,
    OidcSettingsUpdate,
    PasswordLink,
    Provisioning,
    RoleInfo,
    Scope,
    SessionInfo,
    SessionMethod,
    SessionSummary,
    SignInMethods,
    User,
    UserKind,
    UserStatus,
)
from partitur.access.oidc import ProviderIdentity
from partitur.core.actions import (
    ASSIGNABLE_ROLES,
    POLICY,
    ROLE_DESCRIPTIONS,
    Actor,
    Permission,
    Role,
    action,
    describe,
)
from partitur.core.crypto import decrypt_secrets, encrypt_secrets
from partitur.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from partitur.core.ids import new_id
from partitur.storage.audit import AuditRecord, write_audit
from partitur.workspaces import service as workspaces

#: a password link (invitation, reset) works this long
LINK_LIFETIME = timedelta(days=7)
#: a single sign-on login must come back from the provider within this time
OIDC_LOGIN_LIFETIME = timedelta(minutes=10)
#: the last-seen time of a session is written at most this often (a write per request would
#: serialise every reader behind the store's write lock)
TOUCH_EVERY = timedelta(seconds=60)
#: failed sign-ins: per account and per IP address, this many within the window lock the
#: account (or the address) for the lock time; a lock answers 429 with Retry-After
ACCOUNT_FAILURES = 5
IP_FAILURES = 20
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_TIME = timedelta(minutes=15)
#: the callback address registered at the OpenID provider, under the server's base URL
OIDC_CALLBACK_PATH = "/api/session/oidc/callback"
OIDC_START_PATH = "/api/session/oidc/start"
#: where a person sets their password from a link (a page of the Studio)
PASSWORD_PAGE = "/ui/set-password"
#: what early tokens' scopes became: a service account per scope (role, scoped-down rights)
SCOPE_ACCOUNTS: dict[Scope, tuple[str, Role, frozenset[Permission] | None]] = {
    Scope.admin: ("api-admin", Role.admin, None),
    Scope.write: ("api-write", Role.publisher, None),
    Scope.read: ("api-read", Role.analyst, frozenset({Permission.read, Permission.analyse})),
}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _email(value: str) -> str:
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or not domain or " " in email or len(email) > 320:
        raise ValidationFailed("enter an e-mail address such as ada@example.com", field="email")
    return email


def _assignable(role: Role) -> Role:
    if role not in ASSIGNABLE_ROLES:
        raise ValidationFailed(
            f"the role {role.value!r} cannot be given; choose one of "
            + ", ".join(r.value for r in ASSIGNABLE_ROLES),
            field="role",
        )
    return role


def _name(value: str, field: str = "name") -> str:
    name = " ".join(value.split())
    if not 1 <= len(name) <= 200:
        raise ValidationFailed("a name has 1 to 200 characters", field=field)
    return name


def _language(value: str) -> str:
    language = value.strip()
    if not 2 <= len(language) <= 10 or not language.replace("-", "").isalnum():
        raise ValidationFailed("a language is a tag such as en or de-CH", field="language")
    return language


# --- reads ---------------------------------------------------------------------------------------


def roles() -> list[RoleInfo]:
    """The roles people and service accounts may hold, with what each may do."""
    return [
        RoleInfo(
            role=role,
            description=ROLE_DESCRIPTIONS[role],
            permissions=sorted(POLICY[role], key=lambda p: p.value),
        )
        for role in ASSIGNABLE_ROLES
    ]


def get_settings(conn: Connection, *, workspace_id: str) -> AccessSettings:
    return repo.settings(conn, workspace_id=workspace_id)


def four_eyes_publish(conn: Connection, *, workspace_id: str) -> bool:
    """Whether publishing a journey in this workspace needs a second person's approval."""
    return repo.settings(conn, workspace_id=workspace_id).four_eyes_publish


def list_users(
    conn: Connection,
    *,
    workspace_id: str,
    kind: UserKind | None = None,
    status: UserStatus | None = None,
) -> list[User]:
    return repo.list_users(conn, workspace_id=workspace_id, kind=kind, status=status)


def get_user(conn: Connection, *, workspace_id: str, user_id: str) -> User:
    row = repo.user_row(conn, workspace_id=workspace_id, user_id=user_id)
    if row is None:
        raise NotFound(f"no user {user_id}", field="user_id")
    return repo.user_from_row(row)


def list_tokens(
    conn: Connection, *, workspace_id: str, user_id: str | None = None
) -> list[ApiToken]:
    """The workspace's API tokens (or one principal's), without their secrets."""
    return repo.list_tokens(conn, workspace_id=workspace_id, user_id=user_id)


def list_sessions(
    conn: Connection,
    *,
    workspace_id: str,
    user_id: str,
    now: datetime,
    current: str | None = None,
) -> list[SessionSummary]:
    """The person's open browser sessions, newest first (``current``: this request's)."""
    settings = repo.settings(conn, workspace_id=workspace_id)
    return repo.list_sessions(
        conn,
        workspace_id=workspace_id,
        user_id=user_id,
        now=now,
        idle=timedelta(minutes=settings.session_idle_minutes),
        current=current,
    )


def redirect_uri(base_url: str) -> str:
    return base_url.rstrip("/") + OIDC_CALLBACK_PATH


def oidc_settings(conn: Connection, *, workspace_id: str, base_url: str) -> OidcSettings | None:
    """The workspace's OpenID provider settings (never the client secret), or None."""
    row = repo.oidc_row(conn, workspace_id=workspace_id)
    if row is None:
        return None
    return OidcSettings(
        enabled=bool(row.enabled),
        issuer=row.issuer,
        client_id=row.client_id,
        has_client_secret=bool(row.client_secret),
        scopes=row.scopes,
        provisioning=Provisioning(row.provisioning),
        default_role=Role(row.default_role),
        allowed_domains=list(row.allowed_domains or []),
        button_label=row.button_label,
        redirect_uri=redirect_uri(base_url),
        updated_at=row.updated_at,
    )


def sign_in_methods(conn: Connection, *, workspace_id: str) -> SignInMethods:
    """How people sign in to the workspace (shown on the sign-in page)."""
    workspace = workspaces.get_workspace(conn, workspace_id=workspace_id)
    row = repo.oidc_row(conn, workspace_id=workspace_id)
    sso = bool(row is not None and row.enabled)
    return SignInMethods(
        workspace=workspace.name,
        password=True,
        sso=sso,
        sso_label=(
            row.button_label
            if sso and row is not None and row.button_label != DEFAULT_BUTTON_LABEL
            else None
        ),
        sso_start_url=f"{OIDC_START_PATH}?workspace={quote(workspace.name)}" if sso else None,
    )


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


# --- sessions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartedSession:
    """A new browser session: ``secret`` goes into the HttpOnly cookie, never elsewhere."""

    secret: str
    session_id: str
    csrf_token: str
    expires_at: datetime
    actor: Actor


@action("session.sign_in", permission=Permission.read, subject="user")
def start_session(
    conn: Connection,
    *,
    workspace_id: str,
    method: SessionMethod,
    now: datetime,
    actor: Actor,
    user_agent: str | None = None,
    provisioned: bool = False,
) -> StartedSession:
    """Open a browser session for ``actor`` (a person or service account, or an API token's
    owner when ``method`` is ``token``: ``actor.credential`` names the token). ``provisioned``
    says that the sign-in made the person's account (single sign-on, auto-provisioning)."""
    if actor.kind not in ("user", "service"):
        raise Forbidden("only people and service accounts open sessions", field="Authorization")
    settings = repo.settings(conn, workspace_id=workspace_id)
    secret = secrets.token_urlsafe(32)
    session_id = new_id("ses")
    csrf = secrets.token_urlsafe(24)
    expires_at = now + timedelta(hours=settings.session_max_hours)
    repo.insert_session(
        conn,
        id=session_id,
        workspace_id=workspace_id,
        user_id=actor.id,
        secret_hash=_hash(secret),
        csrf_token=csrf,
        method=method.value,
        token_id=actor.credential if method is SessionMethod.token else None,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
        ip=actor.ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    repo.update_user(conn, actor.id, last_sign_in_at=now)
    details: dict[str, Any] = {"session": session_id, "method": method.value}
    if method is SessionMethod.token:
        details["token"] = actor.credential
    if provisioned:
        details["provisioned"] = True
    describe(subject_id=actor.id, details=details)
    return StartedSession(
        secret=secret,
        session_id=session_id,
        csrf_token=csrf,
        expires_at=expires_at,
        actor=actor,
    )


@action("session.sign_out", permission=Permission.read, subject="user")
def end_session(conn: Connection, *, workspace_id: str, now: datetime, actor: Actor) -> None:
    """Sign out: the session ``actor`` came with ends (an API token's caller has none)."""
    session_id = (
        actor.credential if actor.credential and actor.credential.startswith("ses_") else None
    )
    if session_id is not None:
        repo.end_sessions(conn, now=now, reason="signed_out", session_id=session_id)
    describe(subject_id=actor.id, details={"session": session_id})


@action("session.revoke", permission=Permission.read, subject="user")
def revoke_session(
    conn: Connection, *, workspace_id: str, session_id: str, now: datetime, actor: Actor
) -> None:
    """End one browser session: one's own, or anyone's with ``access.manage``."""
    row = repo.session_row(conn, workspace_id=workspace_id, session_id=session_id)
    if row is None:
        raise NotFound(f"no session {session_id}", field="session_id")
    if row.user_id != actor.id:
        actor.require(Permission.manage_access)
    repo.end_sessions(conn, now=now, reason="revoked", session_id=session_id)
    describe(subject_id=row.user_id, details={"session": session_id})


def _record_failure(
    conn: Connection,
    *,
    workspace_id: str,
    subject_id: str,
    reason: str,
    method: str,
    ip: str | None,
    request_id: str | None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit a failed sign-in. Nobody is signed in, so there is no actor to run an action:
    the entry names ``anonymous`` as the actor and the account tried as the subject (the
    password is never recorded)."""
    write_audit(
        conn,
        AuditRecord(
            workspace_id=workspace_id,
            at=now,
            actor="anonymous",
            action="session.sign_in_failed",
            subject_type="user",
            subject_id=subject_id,
            details={"reason": reason, "method": method, **(details or {})},
            request_id=request_id,
            ip=ip,
        ),
    )


def _throttle_keys(workspace_id: str, email: str, ip: str | None) -> tuple[str, str | None]:
    return f"account:{workspace_id}:{email}", f"ip:{ip}" if ip else None


def _retry_after(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


@dataclass(frozen=True)
class SignInOutcome:
    """What a sign-in came to: a session, or the error to answer (after the failure has
    been recorded — the caller commits first, then raises)."""

    session: StartedSession | None = None
    error: Unauthorized | None = None


@dataclass(frozen=True)
class PasswordVerdict:
    """What ``check_password`` found: the account tried and whether the password fits."""

    workspace_id: str
    email: str
    user_id: str | None
    #: the hash the password was checked against (None: unknown account or no password)
    password_hash: str | None
    #: why the sign-in fails (``wrong_password``, ``unknown_account``, ``account_invited``,
    #: ...), None when it succeeds
    reason: str | None


def check_password(
    conn: Connection,
    *,
    workspace_id: str,
    email: str,
    password: str,
    now: datetime,
    ip: str | None = None,
) -> PasswordVerdict:
    """Check e-mail and password, reading only: hashing takes tens of milliseconds, so call
    it in a read transaction and write the outcome with ``finish_password_sign_in``. While
    the account or the address is locked, raises ``RateLimited`` without checking the
    password. An unknown e-mail takes as long as a wrong password."""
    email = email.strip().lower()
    account_key, ip_key = _throttle_keys(workspace_id, email, ip)
    keys = [account_key, *([ip_key] if ip_key else [])]
    locked = repo.locked_until(conn, keys=keys, now=now)
    if locked is not None:
        raise RateLimited(
            "too many failed sign-ins; try again later",
            retry_after=_retry_after(locked, now),
            field="email",
        )
    row = repo.user_row_by_email(conn, workspace_id=workspace_id, email=email)
    stored = row.password_hash if row is not None else None
    good = passwords.verify_password(stored, password)
    if row is None:
        reason: str | None = "unknown_account"
    elif not good:
        reason = "wrong_password"
    elif row.status != UserStatus.active.value:
        reason = f"account_{row.status}"
    else:
        reason = None
    return PasswordVerdict(
        workspace_id=workspace_id,
        email=email,
        user_id=row.id if row is not None else None,
        password_hash=stored,
        reason=reason,
    )


def finish_password_sign_in(
    conn: Connection,
    verdict: PasswordVerdict,
    *,
    password: str,
    now: datetime,
    ip: str | None = None,
    request_id: str | None = None,
    user_agent: str | None = None,
) -> SignInOutcome:
    """Open the session of a good ``verdict`` — if the account has not changed since (a
    new password, disabled) — or count and audit a failed one against the account and the
    address; the failure is returned, so that the caller commits it before answering."""
    workspace_id = verdict.workspace_id
    account_key, ip_key = _throttle_keys(workspace_id, verdict.email, ip)
    row = (
        repo.user_row(conn, workspace_id=workspace_id, user_id=verdict.user_id)
        if verdict.user_id
        else None
    )
    reason = verdict.reason
    if reason is None and (
        row is None
        or row.password_hash != verdict.password_hash
        or row.status != UserStatus.active.value
    ):
        reason = "account_changed"
    if reason is not None:
        lock = repo.count_failure(
            conn,
            key=account_key,
            now=now,
            window=FAILURE_WINDOW,
            limit=ACCOUNT_FAILURES,
            lock=LOCK_TIME,
        )
        if ip_key:
            ip_lock = repo.count_failure(
                conn, key=ip_key, now=now, window=FAILURE_WINDOW, limit=IP_FAILURES, lock=LOCK_TIME
            )
            lock = ip_lock or lock
        _record_failure(
            conn,
            workspace_id=workspace_id,
            subject_id=verdict.user_id or f"email:{verdict.email}",
            reason=reason,
            method="password",
            ip=ip,
            request_id=request_id,
            now=now,
            details={"locked_until": lock.isoformat()} if lock else None,
        )
        return SignInOutcome(error=Unauthorized("wrong e-mail or password", field="password"))
    assert row is not None
    repo.clear_failures(conn, key=account_key)
    if passwords.needs_rehash(row.password_hash):
        repo.update_user(conn, row.id, password_hash=passwords.hash_password(password))
    actor = _actor(row).for_request(request_id=request_id, ip=ip)
    started = start_session(
        conn,
        workspace_id=workspace_id,
        method=SessionMethod.password,
        now=now,
        actor=actor,
        user_agent=user_agent,
    )
    return SignInOutcome(session=started)


def sign_in_with_token(
    conn: Connection,
    *,
    token: str,
    now: datetime,
    ip: str | None = None,
    request_id: str | None = None,
    user_agent: str | None = None,
) -> StartedSession:
    """Open a browser session with an API token: the session has the token's rights and
    ends when the token is revoked. Raises ``Unauthorized`` for a token that does not work."""
    actor = authenticate_token(conn, token).for_request(request_id=request_id, ip=ip)
    return start_session(
        conn,
        workspace_id=actor.workspace_id,
        method=SessionMethod.token,
        now=now,
        actor=actor,
        user_agent=user_agent,
    )


# --- single sign-on (OpenID Connect) -------------------------------------------------------------


@action("access_settings.save", permission=Permission.manage_access, subject="workspace")
def save_settings(
    conn: Connection,
    *,
    workspace_id: str,
    settings: AccessSettings,
    now: datetime,
    actor: Actor,
) -> AccessSettings:
    """Four-eyes publishing and session lifetimes of the workspace."""
    before = repo.settings(conn, workspace_id=workspace_id)
    repo.save_settings(conn, workspace_id=workspace_id, value=settings, now=now)
    describe(subject_id=workspace_id, before=before, after=settings)
    return settings


@action("oidc.configure", permission=Permission.manage_access, subject="workspace")
def configure_oidc(
    conn: Connection,
    *,
    workspace_id: str,
    update: OidcSettingsUpdate,
    secret_key: str,
    base_url: str,
    now: datetime,
    actor: Actor,
) -> OidcSettings:
    """Set the workspace's OpenID provider. The client secret is kept encrypted (a None
    secret keeps the stored one); auto-provisioning may not hand out the owner role."""
    _assignable(update.default_role)
    if update.provisioning is Provisioning.auto and update.default_role in (Role.owner, Role.admin):
        raise ValidationFailed(
            "people who join by themselves cannot become owners or admins", field="default_role"
        )
    if "openid" not in update.scopes.split():
        raise ValidationFailed("the scopes must include 'openid'", field="scopes")
    issuer = update.issuer.rstrip("/")
    if urlsplit(issuer).scheme != "https" and urlsplit(issuer).hostname not in (
        "127.0.0.1",
        "localhost",
        "::1",
    ):
        raise ValidationFailed("the issuer must be an https:// address", field="issuer")
    existing = repo.oidc_row(conn, workspace_id=workspace_id)
    stored_secret = existing.client_secret if existing is not None else None
    if update.client_secret is not None:
        stored_secret = encrypt_secrets(secret_key, {"client_secret": update.client_secret})
    domains = sorted({d.strip().lower().lstrip("@") for d in update.allowed_domains if d.strip()})
    values = {
        "enabled": update.enabled,
        "issuer": issuer,
        "client_id": update.client_id,
        "client_secret": stored_secret,
        "scopes": " ".join(update.scopes.split()),
        "provisioning": update.provisioning.value,
        "default_role": update.default_role.value,
        "allowed_domains": domains,
        "button_label": update.button_label,
        "updated_at": now,
    }
    before = oidc_settings(conn, workspace_id=workspace_id, base_url=base_url)
    repo.save_oidc(conn, workspace_id=workspace_id, values=values)
    after = oidc_settings(conn, workspace_id=workspace_id, base_url=base_url)
    describe(
        subject_id=workspace_id,
        before=before.model_dump(exclude={"updated_at"}) if before else None,
        after=after.model_dump(exclude={"updated_at"}) if after else None,
        details={"client_secret_changed": update.client_secret is not None},
    )
    assert after is not None
    return after


@dataclass(frozen=True)
class OidcClient:
    """What the relying party needs of a workspace's provider settings."""

    workspace_id: str
    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str
    provisioning: Provisioning
    default_role: Role
    allowed_domains: tuple[str, ...]


def oidc_client(conn: Connection, *, workspace_id: str, secret_key: str) -> OidcClient:
    """The workspace's enabled provider; raises ``NotFound`` when single sign-on is off."""
    row = repo.oidc_row(conn, workspace_id=workspace_id)
    if row is None or not row.enabled:
        raise NotFound("single sign-on is not set up for this workspace", field="workspace")
    return OidcClient(
        workspace_id=workspace_id,
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret=decrypt_secrets(secret_key, row.client_secret).get("client_secret"),
        scopes=row.scopes,
        provisioning=Provisioning(row.provisioning),
        default_role=Role(row.default_role),
        allowed_domains=tuple(row.allowed_domains or ()),
    )


def _local_path(target: str | None) -> str:
    """Only a path of this server: never send a browser to another site after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:500]
    return "/ui/"


def provider_metadata(client: OidcClient) -> oidc.ProviderMetadata:
    """The provider's endpoints (its discovery document, cached; network — call it outside a
    transaction). Raises ``DependencyFailed`` when the provider cannot be read."""
    return oidc.discover(client.issuer)


def begin_oidc_login(
    conn: Connection,
    *,
    client: OidcClient,
    metadata: oidc.ProviderMetadata,
    next_path: str | None,
    base_url: str,
    now: datetime,
) -> tuple[str, str]:
    """Start a single sign-on: remember state, nonce and PKCE verifier (10 minutes) and
    return (the provider's authorization URL, the state for the browser's cookie). Not an
    action: nobody is signed in yet; the sign-in itself is audited."""
    workspace_id = client.workspace_id
    state, nonce, verifier = oidc.new_secrets()
    repo.insert_oidc_login(
        conn,
        state_hash=_hash(state),
        workspace_id=workspace_id,
        code_verifier=verifier,
        nonce=nonce,
        next_path=_local_path(next_path),
        created_at=now,
        expires_at=now + OIDC_LOGIN_LIFETIME,
    )
    url = oidc.authorization_url(
        metadata,
        client_id=client.client_id,
        redirect_uri=redirect_uri(base_url),
        scopes=client.scopes,
        state=state,
        nonce=nonce,
        code_verifier=verifier,
    )
    return url, state


@dataclass(frozen=True)
class PendingOidcLogin:
    workspace_id: str
    code_verifier: str
    nonce: str
    next_path: str


def take_oidc_login(
    conn: Connection, *, state: str, browser_state: str | None, now: datetime
) -> PendingOidcLogin:
    """The login in flight for ``state`` (used up). ``browser_state`` is the state the
    browser's cookie kept: a callback in another browser than the one that started the
    login (someone else's code forced on a victim) is refused."""
    if not browser_state or not secrets.compare_digest(state, browser_state):
        raise Unauthorized("this sign-in was not started in this browser; start again")
    row = repo.take_oidc_login(conn, state_hash=_hash(state), now=now)
    if row is None:
        raise Unauthorized("this sign-in is unknown or took too long; start again")
    return PendingOidcLogin(
        workspace_id=row.workspace_id,
        code_verifier=row.code_verifier,
        nonce=row.nonce,
        next_path=row.next_path,
    )


def identify_with_provider(
    client: OidcClient,
    login: PendingOidcLogin,
    *,
    code: str,
    issuer: str | None,
    base_url: str,
    now: datetime,
) -> ProviderIdentity:
    """Exchange the code at the provider and verify the ID token (network; call it outside
    a transaction). ``issuer`` is the ``iss`` of the callback (RFC 9207), checked when sent."""
    metadata = oidc.discover(client.issuer)
    if issuer is not None and issuer.rstrip("/") != metadata.issuer.rstrip("/"):
        raise Unauthorized("the sign-in came back from another provider")
    return oidc.identify(
        metadata,
        client_id=client.client_id,
        client_secret=client.client_secret,
        redirect_uri=redirect_uri(base_url),
        code=code,
        code_verifier=login.code_verifier,
        nonce=login.nonce,
        now=now,
    )


def sign_in_with_oidc(
    conn: Connection,
    *,
    client: OidcClient,
    identity: ProviderIdentity,
    now: datetime,
    ip: str | None = None,
    request_id: str | None = None,
    user_agent: str | None = None,
) -> SignInOutcome:
    """Map the provider's verified e-mail to a person of the workspace and open a session.
    An invited person becomes active; with ``auto`` provisioning a stranger from an allowed
    domain joins with the default role. A refusal is audited and returned."""
    workspace_id = client.workspace_id

    def refuse(reason: str, subject: str, message: str) -> SignInOutcome:
        _record_failure(
            conn,
            workspace_id=workspace_id,
            subject_id=subject,
            reason=reason,
            method="oidc",
            ip=ip,
            request_id=request_id,
            now=now,
        )
        return SignInOutcome(error=Unauthorized(message))

    if not identity.email or not identity.email_verified:
        return refuse(
            "no_verified_email",
            f"oidc:{identity.subject}",
            "the provider did not vouch for an e-mail address",
        )
    email = identity.email
    row = repo.user_row_by_email(conn, workspace_id=workspace_id, email=email)
    if row is None:
        domain = email.partition("@")[2]
        allowed = not client.allowed_domains or domain in client.allowed_domains
        if client.provisioning is not Provisioning.auto or not allowed:
            return refuse(
                "not_invited", f"email:{email}", f"{email} has no account in this workspace"
            )
        # joins by themselves: the account is made with the sign-in, whose audit entry says
        # so (``provisioned``)
        user = _new_person(
            conn,
            workspace_id=workspace_id,
            email=email,
            name=identity.name,
            role=client.default_role,
            language=_safe_language(identity.locale),
            status=UserStatus.active,
            password_hash=None,
            now=now,
            oidc_subject=identity.subject,
        )
        row = _user_row(conn, workspace_id, user.id)
        provisioned = True
    else:
        provisioned = False
    if row.kind != UserKind.person.value or row.status == UserStatus.disabled.value:
        return refuse("account_disabled", row.id, "this account is disabled")
    if row.oidc_subject is not None and row.oidc_subject != identity.subject:
        return refuse(
            "subject_mismatch",
            row.id,
            "the provider's account for this e-mail is not the one first used here",
        )
    if row.oidc_subject is None or row.status != UserStatus.active.value:
        repo.update_user(
            conn,
            row.id,
            oidc_subject=identity.subject,
            status=UserStatus.active.value,
            updated_at=now,
        )
        row = _user_row(conn, workspace_id, row.id)
    actor = _actor(row).for_request(request_id=request_id, ip=ip)
    started = start_session(
        conn,
        workspace_id=workspace_id,
        method=SessionMethod.oidc,
        now=now,
        actor=actor,
        user_agent=user_agent,
        provisioned=provisioned,
    )
    return SignInOutcome(session=started)


def record_oidc_failure(
    conn: Connection,
    *,
    workspace_id: str,
    reason: str,
    now: datetime,
    ip: str | None = None,
    request_id: str | None = None,
) -> None:
    """Audit a single sign-on that failed before anyone was known (refused or broken
    callback, invalid token)."""
    _record_failure(
        conn,
        workspace_id=workspace_id,
        subject_id="oidc",
        reason=reason,
        method="oidc",
        ip=ip,
        request_id=request_id,
        now=now,
    )


def _safe_language(locale: str | None) -> str:
    if not locale:
        return "en"
    tag = locale.replace("_", "-").strip()
    try:
        return _language(tag)
    except ValidationFailed:
        return "en"
