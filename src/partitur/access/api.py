"""HTTP API of access: sign-in (password, single sign-on, API token), browser sessions,
people and service accounts, API tokens, the workspace's access settings."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from partitur.access import service
from partitur.access.contracts import (
    AccessSettings,
    ApiToken,
    IssuedToken,
    OidcSettings,
    OidcSettingsUpdate,
    PasswordLink,
    RoleInfo,
    Scope,
    SessionInfo,
    SessionStart,
    SessionSummary,
    SignInMethods,
    User,
    UserKind,
    UserStatus,
)
from partitur.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AccessAdminPrincipal,
    ContextDep,
    ReadPrincipal,
    client_ip,
    request_id,
)
from partitur.context import Context
from partitur.core.actions import Permission, Role
from partitur.core.errors import PartiturError, Unauthorized
from partitur.workspaces import service as workspaces

router = APIRouter(prefix="/api", tags=["access"])

#: the cookie that ties a single sign-on in flight to the browser that started it
OIDC_STATE_COOKIE = "partitur_oidc"
#: where the Studio signs people in (a failed single sign-on comes back there)
SIGN_IN_PAGE = "/ui/sign-in"


class TokenCreate(BaseModel):
    name: str = Field(default="api", min_length=1, max_length=100)
    #: the person or service account the token acts as; left out: the caller
    user_id: str | None = Field(default=None, max_length=40)
    #: scope the token down to these permissions of its owner's role
    permissions: list[Permission] | None = None
    #: the first tokens' scopes: the token acts as the workspace's service account of the
    #: scope (``api-admin``, ``api-write``, ``api-read``)
    scopes: list[Scope] | None = Field(default=None, min_length=1)


class Invite(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    role: Role
    name: str | None = Field(default=None, max_length=200)
    language: str = Field(default="en", max_length=10)


class ServiceAccountCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role


class RoleChange(BaseModel):
    role: Role


class Enabled(BaseModel):
    enabled: bool


class AccountUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=10)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)


class Activation(BaseModel):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(max_length=200)
    name: str | None = Field(default=None, max_length=200)


class SessionsEnded(BaseModel):
    ended: int


# --- signing in ----------------------------------------------------------------------------------


def _set_session_cookies(
    request: Request, response: Response, started: service.StartedSession, now: datetime
) -> None:
    """The HttpOnly, SameSite=Strict cookie with the session's secret, and a readable cookie
    with its CSRF token; both last until the session's absolute end."""
    secure = request.url.scheme == "https"
    max_age = max(1, int((started.expires_at - now).total_seconds()))
    response.set_cookie(
        SESSION_COOKIE,
        started.secret,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        started.csrf_token,
        max_age=max_age,
        samesite="strict",
        secure=secure,
        path="/",
    )


def _clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def _workspace_id(ctx: Context, name: str | None) -> str:
    if not name:
        return ctx.workspace_id
    with ctx.store.read() as conn:
        return workspaces.workspace_by_name(conn, name=name).id


def _started_info(ctx: Context, started: service.StartedSession) -> SessionInfo:
    with ctx.store.read() as conn:
        return service.session_info(
            conn,
            actor=started.actor,
            csrf_token=started.csrf_token,
            session_id=started.session_id,
            expires_at=started.expires_at,
        )


@router.post("/session", response_model=SessionInfo, tags=["session"])
def start_session(
    body: SessionStart, request: Request, response: Response, ctx: ContextDep
) -> SessionInfo:
    """Sign a browser in with e-mail and password (or an API token): sets the HttpOnly
    session cookie; every later request that changes something repeats the session's
    ``csrf_token`` in ``X-CSRF-Token``. A wrong password answers 401; after 5 failures for
    an account (20 from an address) within 15 minutes, 429 with ``Retry-After``."""
    now = ctx.clock.now()
    ip, rid = client_ip(request), request_id(request)
    agent = request.headers.get("user-agent")
    if body.email is not None and body.password is not None:
        workspace_id = _workspace_id(ctx, body.workspace)
        # the password is hashed outside the write transaction (tens of milliseconds)
        with ctx.store.read() as conn:
            verdict = service.check_password(
                conn,
                workspace_id=workspace_id,
                email=body.email,
                password=body.password,
                now=now,
                ip=ip,
            )
        with ctx.store.begin() as conn:
            outcome = service.finish_password_sign_in(
                conn,
                verdict,
                password=body.password,
                now=now,
                ip=ip,
                request_id=rid,
                user_agent=agent,
            )
        # the failure is committed (audited, counted) before it is answered
        if outcome.error is not None:
            raise outcome.error
        assert outcome.session is not None
        started = outcome.session
    else:
        token = (body.token or "").strip()
        if not token:
            raise Unauthorized("enter an API token", field="token")
        with ctx.store.begin() as conn:
            started = service.sign_in_with_token(
                conn, token=token, now=now, ip=ip, request_id=rid, user_agent=agent
            )
    _set_session_cookies(request, response, started, now)
    return _started_info(ctx, started)


@router.get("/session", response_model=SessionInfo, tags=["session"])
def current_session(request: Request, ctx: ContextDep, who: ReadPrincipal) -> SessionInfo:
    """Who is signed in (401 when nobody is)."""
    session: service.ResolvedSession | None = getattr(request.state, "session", None)
    with ctx.store.read() as conn:
        return service.session_info(
            conn,
            actor=who,
            csrf_token=session.csrf_token if session else "",
            session_id=session.session_id if session else None,
            expires_at=session.expires_at if session else None,
        )


@router.delete("/session", status_code=204, tags=["session"])
def end_session(ctx: ContextDep, who: ReadPrincipal) -> Response:
    """Sign the browser out: the session ends on the server and the cookies are deleted."""
    with ctx.store.begin() as conn:
        service.end_session(conn, workspace_id=who.workspace_id, now=ctx.clock.now(), actor=who)
    response = Response(status_code=204)
    _clear_session_cookies(response)
    return response


@router.get("/session/methods", response_model=SignInMethods, tags=["session"])
def sign_in_methods(
    ctx: ContextDep, workspace: Annotated[str | None, Query(max_length=200)] = None
) -> SignInMethods:
    """How people sign in to the workspace (the server's own when not named): password,
    and single sign-on when set up. Needs no sign-in."""
    workspace_id = _workspace_id(ctx, workspace)
    with ctx.store.read() as conn:
        return service.sign_in_methods(conn, workspace_id=workspace_id)


@router.get("/session/oidc/start", tags=["session"], response_class=RedirectResponse)
def start_single_sign_on(
    request: Request,
    ctx: ContextDep,
    workspace: Annotated[str | None, Query(max_length=200)] = None,
    next: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Send the browser to the workspace's OpenID provider (authorization code with PKCE);
    it comes back to ``/api/session/oidc/callback`` and then goes on to ``next`` (a path of
    this server)."""
    workspace_id = _workspace_id(ctx, workspace)
    with ctx.store.read() as conn:
        client = service.oidc_client(
            conn, workspace_id=workspace_id, secret_key=ctx.settings.secret_key
        )
    # the provider is asked outside the transaction: no write lock is held while it answers
    metadata = service.provider_metadata(client)
    with ctx.store.begin() as conn:
        url, state = service.begin_oidc_login(
            conn,
            client=client,
            metadata=metadata,
            next_path=next,
            base_url=ctx.settings.base_url,
            now=ctx.clock.now(),
        )
    response = RedirectResponse(url, status_code=303)
    # Lax, not Strict: the provider sends the browser back with a cross-site navigation
    response.set_cookie(
        OIDC_STATE_COOKIE,
        state,
        max_age=int(service.OIDC_LOGIN_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=service.OIDC_CALLBACK_PATH,
    )
    return response


def _sso_failed(reason: str) -> Response:
    response = RedirectResponse(f"{SIGN_IN_PAGE}?sso_error={quote(reason)}", status_code=303)
    response.delete_cookie(OIDC_STATE_COOKIE, path=service.OIDC_CALLBACK_PATH)
    return response


def _continue_page(target: str) -> HTMLResponse:
    """A page that moves on to ``target`` by itself. The browser arrived from the provider
    (another site): a redirect from here would still count as cross-site and go without the
    SameSite=Strict session cookie, a navigation started by this page does not."""
    url = escape(target, quote=True)
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<meta http-equiv='refresh' content='0;url={url}'><title>Signed in</title></head>"
        f"<body><p>Signed in. <a href='{url}'>Continue</a></p></body></html>"
    )


@router.get("/session/oidc/callback", tags=["session"], response_class=HTMLResponse)
def single_sign_on_callback(
    request: Request,
    ctx: ContextDep,
    state: Annotated[str | None, Query(max_length=200)] = None,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    iss: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Where the OpenID provider sends the browser back: the code is exchanged (with the
    PKCE verifier), the ID token verified, the e-mail mapped to a person of the workspace and
    a session opened. Failures go back to the sign-in page with ``sso_error``; each is
    audited."""
    now = ctx.clock.now()
    ip, rid = client_ip(request), request_id(request)
    if not state:
        return _sso_failed("missing_state")
    try:
        with ctx.store.begin() as conn:
            login = service.take_oidc_login(
                conn, state=state, browser_state=request.cookies.get(OIDC_STATE_COOKIE), now=now
            )
    except Unauthorized:
        return _sso_failed("expired")
    reason = None
    client = identity = None
    if error or not code:
        reason = f"provider_{error or 'no_code'}"[:60]
    else:
        try:
            with ctx.store.read() as conn:
                client = service.oidc_client(
                    conn, workspace_id=login.workspace_id, secret_key=ctx.settings.secret_key
                )
            identity = service.identify_with_provider(
                client, login, code=code, issuer=iss, base_url=ctx.settings.base_url, now=now
            )
        except PartiturError as exc:
            reason = exc.problem if not isinstance(exc, Unauthorized) else "invalid_response"
    if reason is not None or client is None or identity is None:
        with ctx.store.begin() as conn:
            service.record_oidc_failure(
                conn,
                workspace_id=login.workspace_id,
                reason=reason or "invalid_response",
                now=now,
                ip=ip,
                request_id=rid,
            )
        return _sso_failed(reason or "invalid_response")
    with ctx.store.begin() as conn:
        outcome = service.sign_in_with_oidc(
            conn,
            client=client,
            identity=identity,
            now=now,
            ip=ip,
            request_id=rid,
            user_agent=request.headers.get("user-agent"),
        )
    if outcome.session is None:
        return _sso_failed("not_allowed")
    response = _continue_page(login.next_path)
    _set_session_cookies(request, response, outcome.session, now)
    response.delete_cookie(OIDC_STATE_COOKIE, path=service.OIDC_CALLBACK_PATH)
    return response


# --- sessions --------------------------------------------------------------------------------


def _current_session_id(request: Request) -> str | None:
    session: service.ResolvedSession | None = getattr(request.state, "session", None)
    return session.session_id if session else None


@router.get("/sessions", response_model=list[SessionSummary], tags=["session"])
def my_sessions(request: Request, ctx: ContextDep, who: ReadPrincipal) -> list[SessionSummary]:
    """The caller's open browser sessions, newest first (``current`` marks this one)."""
    with ctx.store.read() as conn:
        return service.list_sessions(
            conn,
            workspace_id=who.workspace_id,
            user_id=who.id,
            now=ctx.clock.now(),
            current=_current_session_id(request),
        )


@router.delete("/sessions/{session_id}", status_code=204, tags=["session"])
def revoke_session(session_id: str, ctx: ContextDep, who: ReadPrincipal) -> Response:
    """End a browser session: one's own, or anyone's for people who manage access."""
    with ctx.store.begin() as conn:
        service.revoke_session(
            conn,
            workspace_id=who.workspace_id,
            session_id=session_id,
            now=ctx.clock.now(),
            actor=who,
        )
    return Response(status_code=204)


# --- one's own account ---------------------------------------------------------------------------


@router.put("/account", response_model=User)
def update_account(body: AccountUpdate, ctx: ContextDep, who: ReadPrincipal) -> User:
    """Change one's own name or language."""
    with ctx.store.begin() as conn:
        return service.update_account(
            conn,
            workspace_id=who.workspace_id,
            name=body.name,
            language=body.language,
            now=ctx.clock.now(),
            actor=who,
        )


@router.post("/account/password", status_code=204)
def change_password(body: PasswordChange, ctx: ContextDep, who: ReadPrincipal) -> Response:
    """Change one's own password; one's other sessions end."""
    with ctx.store.begin() as conn:
        service.change_password(
            conn,
            workspace_id=who.workspace_id,
            current_password=body.current_password,
            new_password=body.new_password,
            now=ctx.clock.now(),
            actor=who,
        )
    return Response(status_code=204)


@router.post("/account/activate", response_model=User)
def activate_account(body: Activation, request: Request, ctx: ContextDep) -> User:
    """Set one's password with a one-time link (invitation or reset). Needs no sign-in:
    the link is the proof; sign in afterwards with the new password."""
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        user = service.password_link_user(conn, token=body.token, now=now)
        actor = service.actor_for(user).for_request(
            request_id=request_id(request), ip=client_ip(request)
        )
        return service.activate_account(
            conn,
            workspace_id=user.workspace_id,
            token=body.token,
            password=body.password,
            name=body.name,
            now=now,
            actor=actor,
        )


# --- people and service accounts ------------------------------------------------------------------


@router.get("/access/roles", response_model=list[RoleInfo])
def list_roles(who: ReadPrincipal) -> list[RoleInfo]:
    """The roles and what each may do (the policy table)."""
    return service.roles()


@router.get("/users", response_model=list[User])
def list_users(
    ctx: ContextDep,
    who: AccessAdminPrincipal,
    kind: UserKind | None = None,
    status: UserStatus | None = None,
) -> list[User]:
    """The workspace's people and service accounts."""
    with ctx.store.read() as conn:
        return service.list_users(conn, workspace_id=who.workspace_id, kind=kind, status=status)


@router.post("/users", response_model=PasswordLink, status_code=201)
def invite_user(body: Invite, ctx: ContextDep, who: AccessAdminPrincipal) -> PasswordLink:
    """Invite a person: the answer holds the one-time link (7 days) with which they set
    their password — shown only here; hand it to them."""
    with ctx.store.begin() as conn:
        return service.invite_user(
            conn,
            workspace_id=who.workspace_id,
            email=body.email,
            role=body.role,
            name=body.name,
            language=body.language,
            base_url=ctx.settings.base_url,
            now=ctx.clock.now(),
            actor=who,
        )


@router.post("/service-accounts", response_model=User, status_code=201)
def create_service_account(
    body: ServiceAccountCreate, ctx: ContextDep, who: AccessAdminPrincipal
) -> User:
    """A service account for scripts and integrations; make tokens for it with
    ``POST /api/tokens`` (``user_id``)."""
    with ctx.store.begin() as conn:
        return service.create_service_account(
            conn,
            workspace_id=who.workspace_id,
            name=body.name,
            role=body.role,
            now=ctx.clock.now(),
            actor=who,
        )


@router.get("/users/{user_id}", response_model=User)
def get_user(user_id: str, ctx: ContextDep, who: AccessAdminPrincipal) -> User:
    with ctx.store.read() as conn:
        return service.get_user(conn, workspace_id=who.workspace_id, user_id=user_id)


@router.put("/users/{user_id}/role", response_model=User)
def change_role(user_id: str, body: RoleChange, ctx: ContextDep, who: AccessAdminPrincipal) -> User:
    """Give another role; it applies to the person's sessions and tokens at once."""
    with ctx.store.begin() as conn:
        return service.change_role(
            conn,
            workspace_id=who.workspace_id,
            user_id=user_id,
            role=body.role,
            now=ctx.clock.now(),
            actor=who,
        )


@router.put("/users/{user_id}/enabled", response_model=User)
def set_user_enabled(
    user_id: str, body: Enabled, ctx: ContextDep, who: AccessAdminPrincipal
) -> User:
    """Disable (sessions end, tokens are refused at once) or enable again."""
    with ctx.store.begin() as conn:
        return service.set_user_enabled(
            conn,
            workspace_id=who.workspace_id,
            user_id=user_id,
            enabled=body.enabled,
            now=ctx.clock.now(),
            actor=who,
        )


@router.post("/users/{user_id}/password-reset", response_model=PasswordLink)
def reset_password(user_id: str, ctx: ContextDep, who: AccessAdminPrincipal) -> PasswordLink:
    """The person's password stops working and their sessions end; the answer holds the
    one-time link with which they set a new one."""
    with ctx.store.begin() as conn:
        return service.reset_password(
            conn,
            workspace_id=who.workspace_id,
            user_id=user_id,
            base_url=ctx.settings.base_url,
            now=ctx.clock.now(),
            actor=who,
        )


@router.get("/users/{user_id}/sessions", response_model=list[SessionSummary])
def user_sessions(
    user_id: str, request: Request, ctx: ContextDep, who: AccessAdminPrincipal
) -> list[SessionSummary]:
    with ctx.store.read() as conn:
        service.get_user(conn, workspace_id=who.workspace_id, user_id=user_id)
        return service.list_sessions(
            conn,
            workspace_id=who.workspace_id,
            user_id=user_id,
            now=ctx.clock.now(),
            current=_current_session_id(request),
        )


@router.delete("/users/{user_id}/sessions", response_model=SessionsEnded)
def end_user_sessions(user_id: str, ctx: ContextDep, who: AccessAdminPrincipal) -> SessionsEnded:
    """Sign the person out everywhere."""
    with ctx.store.begin() as conn:
        ended = service.end_user_sessions(
            conn, workspace_id=who.workspace_id, user_id=user_id, now=ctx.clock.now(), actor=who
        )
    return SessionsEnded(ended=ended)


# --- API tokens ------------------------------------------------------------------------------


@router.get("/tokens", response_model=list[ApiToken])
def list_tokens(ctx: ContextDep, who: ReadPrincipal) -> list[ApiToken]:
    """Every token of the workspace for people who manage access; one's own for others."""
    with ctx.store.read() as conn:
        return service.list_tokens(
            conn,
            workspace_id=who.workspace_id,
            user_id=None if who.can(Permission.manage_access) else who.id,
        )


@router.post("/tokens", response_model=IssuedToken, status_code=201)
def create_token(body: TokenCreate, ctx: ContextDep, who: ReadPrincipal) -> IssuedToken:
    """Issue an API token (shown only in this answer) acting as ``user_id`` (another's needs
    ``access.manage``) or as the caller, optionally scoped down to ``permissions``."""
    with ctx.store.begin() as conn:
        return service.create_token(
            conn,
            workspace_id=who.workspace_id,
            name=body.name,
            user_id=body.user_id,
            permissions=body.permissions,
            scopes=body.scopes,
            now=ctx.clock.now(),
            actor=who,
        )


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, ctx: ContextDep, who: ReadPrincipal) -> Response:
    """Revoke a token (one's own, or any for people who manage access)."""
    with ctx.store.begin() as conn:
        service.revoke_token(
            conn, workspace_id=who.workspace_id, token_id=token_id, now=ctx.clock.now(), actor=who
        )
    return Response(status_code=204)


# --- settings ----------------------------------------------------------------------------------


@router.get("/access/settings", response_model=AccessSettings)
def get_settings(ctx: ContextDep, who: ReadPrincipal) -> AccessSettings:
    """Four-eyes publishing and session lifetimes (everyone may read them: the Studio shows
    a designer that publishing goes through approval)."""
    with ctx.store.read() as conn:
        return service.get_settings(conn, workspace_id=who.workspace_id)


@router.put("/access/settings", response_model=AccessSettings)
def save_settings(
    body: AccessSettings, ctx: ContextDep, who: AccessAdminPrincipal
) -> AccessSettings:
    with ctx.store.begin() as conn:
        return service.save_settings(
            conn, workspace_id=who.workspace_id, settings=body, now=ctx.clock.now(), actor=who
        )


@router.get("/access/oidc", response_model=OidcSettings | None)
def get_oidc(ctx: ContextDep, who: AccessAdminPrincipal) -> OidcSettings | None:
    """The OpenID provider (never its client secret), or null when none is set up."""
    with ctx.store.read() as conn:
        return service.oidc_settings(
            conn, workspace_id=who.workspace_id, base_url=ctx.settings.base_url
        )


@router.put("/access/oidc", response_model=OidcSettings)
def configure_oidc(
    body: OidcSettingsUpdate, ctx: ContextDep, who: AccessAdminPrincipal
) -> OidcSettings:
    """Set up single sign-on: register ``redirect_uri`` (in the answer) at the provider."""
    with ctx.store.begin() as conn:
        return service.configure_oidc(
            conn,
            workspace_id=who.workspace_id,
            update=body,
            secret_key=ctx.settings.secret_key,
            base_url=ctx.settings.base_url,
            now=ctx.clock.now(),
            actor=who,
        )
