"""What the access domain hands out: people and service accounts, API tokens, browser
sessions, the workspace's sign-in settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from partitur.core.actions import Permission, Role


class Scope(StrEnum):
    """The scopes of the first API tokens; a token made with them acts as the workspace's
    service account of that scope (``api-admin``, ``api-write``, ``api-read``)."""

    read = "read"
    write = "write"
    admin = "admin"


class UserKind(StrEnum):
    #: a person, who signs in with e-mail and password or single sign-on
    person = "person"
    #: a service account: a name and a role, acting only through its API tokens
    service = "service"


class UserStatus(StrEnum):
    #: invited, has not set a password or signed in yet
    invited = "invited"
    active = "active"
    #: may not sign in; their sessions and tokens are refused
    disabled = "disabled"


class User(BaseModel):
    """A person or a service account of a workspace."""

    id: str
    workspace_id: str
    kind: UserKind
    email: str | None
    name: str
    role: Role
    status: UserStatus
    language: str
    #: signed in through the workspace's OpenID provider at least once
    sso_linked: bool = False
    created_at: datetime
    updated_at: datetime
    last_sign_in_at: datetime | None = None


class PasswordLink(BaseModel):
    """A one-time link with which a person sets their password (invitation or reset).
    Shown once, to the admin who made it, who hands it to the person."""

    user: User
    purpose: Literal["invite", "reset"]
    #: the secret of the link; ``POST /api/account/activate`` takes it with the new password
    token: str
    url: str
    expires_at: datetime


class ApiToken(BaseModel):
    id: str
    workspace_id: str
    name: str
    #: the person or service account the token acts as, with that principal's role
    user_id: str | None
    owner_name: str = ""
    owner_kind: UserKind | None = None
    #: the token holds only these permissions of its owner's role; None: all of them
    permissions: list[Permission] | None = None
    #: what an early token was issued with (kept to show; see ``Scope``)
    scopes: list[Scope] = Field(default_factory=list)
    created_at: datetime
    revoked_at: datetime | None = None


class IssuedToken(ApiToken):
    """Returned once, at creation: the only time the token itself is shown."""

    token: str


class SessionMethod(StrEnum):
    password = "password"
    oidc = "oidc"
    #: signed in to the browser with an API token: the token's rights, while it is valid
    token = "token"


class SessionSummary(BaseModel):
    """A browser session of a person (``GET /api/sessions``)."""

    id: str
    user_id: str
    method: SessionMethod
    created_at: datetime
    last_seen_at: datetime
    #: the session ends at the earlier of these: ``expires_at`` (absolute) and
    #: ``idle_expires_at`` (when unused for the workspace's idle time)
    expires_at: datetime
    idle_expires_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    #: the session this request came with
    current: bool = False


class SessionInfo(BaseModel):
    """Who is signed in to this browser session (``GET /api/session``)."""

    workspace_id: str
    workspace_name: str
    #: how the audit log names this person: ``user:usr_…`` (``service:svc_…``)
    actor: str
    name: str
    role: str
    permissions: list[str]
    #: repeat it in ``X-CSRF-Token`` on every request that changes something
    csrf_token: str
    user_id: str | None = None
    kind: UserKind | None = None
    email: str | None = None
    #: the person's language for the Studio (``en``, ``de``, ...)
    language: str = "en"
    session_id: str | None = None
    #: the session's absolute end (it ends sooner when unused; see ``SessionSummary``)
    expires_at: datetime | None = None


_Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


class SessionStart(BaseModel):
    """Sign in with e-mail and password (in the server's workspace, or the one named), or
    with an API token."""

    email: _Email | None = None
    password: Annotated[str, Field(max_length=200)] | None = None
    #: the workspace's name; the server's own workspace when left out
    workspace: Annotated[str, Field(max_length=200)] | None = None
    token: Annotated[str, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> SessionStart:
        if self.token is None and (self.email is None or self.password is None):
            raise ValueError("send email and password, or an API token")
        return self


#: the single sign-on button's text unless an admin chooses one (the Studio translates it)
DEFAULT_BUTTON_LABEL = "Sign in with SSO"


class SignInMethods(BaseModel):
    """How people sign in to a workspace (public: the sign-in page asks before anyone has)."""

    workspace: str
    password: bool = True
    sso: bool = False
    #: the text of the single sign-on button an admin chose; None: the sign-in page's own
    #: words, in the reader's language
    sso_label: str | None = None
    #: where the browser goes to sign in with single sign-on
    sso_start_url: str | None = None


class AccessSettings(BaseModel):
    """How a workspace is protected."""

    #: publishing a journey needs a second person: a submission that a publisher, not the
    #: submitter, approves
    four_eyes_publish: bool = False
    #: a browser session unused this long ends
    session_idle_minutes: int = Field(default=120, ge=5, le=7 * 24 * 60)
    #: a browser session ends this long after sign-in, however busy
    session_max_hours: int = Field(default=12, ge=1, le=30 * 24)


class Provisioning(StrEnum):
    #: only people invited beforehand may sign in with single sign-on
    invited = "invited"
    #: anyone the provider vouches for (from the allowed domains) joins with the default role
    auto = "auto"


class OidcSettings(BaseModel):
    """The workspace's OpenID Connect provider (the client secret is never shown)."""

    enabled: bool
    issuer: str
    client_id: str
    has_client_secret: bool
    scopes: str
    provisioning: Provisioning
    default_role: Role
    allowed_domains: list[str]
    button_label: str
    #: register this address as the redirect URI at the provider
    redirect_uri: str
    updated_at: datetime | None = None


class OidcSettingsUpdate(BaseModel):
    enabled: bool = True
    issuer: Annotated[str, Field(min_length=8, max_length=500, pattern=r"^https?://")]
    client_id: Annotated[str, Field(min_length=1, max_length=300)]
    #: None keeps the stored secret
    client_secret: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    scopes: Annotated[str, Field(max_length=300)] = "openid email profile"
    provisioning: Provisioning = Provisioning.invited
    default_role: Role = Role.viewer
    #: e-mail domains whose people may join by ``auto`` provisioning; empty: any domain
    allowed_domains: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=50
    )
    #: the text of the sign-in page's single sign-on button; left as it is, the Studio words
    #: it in each reader's language
    button_label: Annotated[str, Field(min_length=1, max_length=100)] = DEFAULT_BUTTON_LABEL


class RoleInfo(BaseModel):
    role: Role
    description: str
    permissions: list[Permission]
