"""Reading people, service accounts and the workspace's access settings.
(Re-exported by ``access.service``.)"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import Connection

from partitur.access import repository as repo
from partitur.access.common import OIDC_CALLBACK_PATH, OIDC_START_PATH
from partitur.access.contracts import (
    DEFAULT_BUTTON_LABEL,
    AccessSettings,
    ApiToken,
    OidcSettings,
    Provisioning,
    RoleInfo,
    SessionSummary,
    SignInMethods,
    User,
    UserKind,
    UserStatus,
)
from partitur.core.actions import (
    ASSIGNABLE_ROLES,
    POLICY,
    ROLE_DESCRIPTIONS,
    Role,
)
from partitur.core.errors import (
    NotFound,
)
from partitur.workspaces import service as workspaces

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
