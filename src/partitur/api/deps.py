"""FastAPI dependencies shared by every router: the context and the caller (an ``Actor``).

A caller authenticates with ``Authorization: Bearer <API token>`` (acting as the token's
person or service account) or, in a browser, with the session cookie set by ``POST
/api/session``: a random secret naming a server-side session (``access.service``), which ends
when it expires, is revoked or its person is disabled. A cookie-authenticated request that
changes state must repeat the session's CSRF token in ``X-CSRF-Token`` (the cookie alone never
suffices, so another site cannot make a signed-in browser change anything).

Routes check the coarse right here (``Reader`` may read, ``Writer`` may change something,
``Admin`` manages the workspace, ``AccessAdmin`` manages people and tokens); each action checks
its own permission (core.actions).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from partitur.access import service as access
from partitur.context import Context
from partitur.core.actions import Actor, Permission
from partitur.core.errors import Forbidden, Unauthorized

#: the cookie of a signed-in browser and the cookie holding its CSRF token
SESSION_COOKIE = "partitur_session"
CSRF_COOKIE = "partitur_csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]


def request_id(request: Request) -> str | None:
    """The request's id (``X-Request-ID``, or the one the server gave it)."""
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _credential(request: Request) -> tuple[str, bool]:
    """The token the request carries and whether it came in the session cookie."""
    header = request.headers.get("authorization", "")
    if header:
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise Unauthorized(
                "send an API token as 'Authorization: Bearer <token>'", field="Authorization"
            )
        return token.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if cookie:
        return cookie, True
    raise Unauthorized(
        "sign in, or send an API token as 'Authorization: Bearer <token>'", field="Authorization"
    )


def check_csrf(request: Request, expected: str) -> None:
    """Refuse a cookie-authenticated state change without the session's CSRF token."""
    if request.method in _SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden("missing or wrong CSRF token", field="X-CSRF-Token")


def browser_session(request: Request, ctx: Context) -> access.ResolvedSession | None:
    """The session of the request's cookie (None without a cookie); raises ``Unauthorized``
    when it has ended. A session in use stays open: its last-seen time is written at most
    once a minute."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    if not secret:
        return None
    now = ctx.clock.now()
    with ctx.store.read() as conn:
        session = access.resolve_session(conn, secret=secret, now=now)
    if session.stale:
        with ctx.store.begin() as conn:
            access.touch_session(conn, session_id=session.session_id, now=now)
    request.state.session = session
    return session


def current_actor(request: Request, ctx: Context) -> Actor:
    """Authenticate the request; raises ``Unauthorized`` / ``Forbidden``."""
    token, from_cookie = _credential(request)
    if from_cookie:
        session = browser_session(request, ctx)
        assert session is not None
        check_csrf(request, session.csrf_token)
        actor = session.actor
    else:
        with ctx.store.read() as conn:
            actor = access.authenticate_token(conn, token)
    return actor.for_request(request_id=request_id(request), ip=client_ip(request))


def require(check: Callable[[Actor], bool], message: str) -> Callable[..., Actor]:
    def dependency(request: Request, ctx: ContextDep) -> Actor:
        actor = current_actor(request, ctx)
        if not check(actor):
            raise Forbidden(message, field="Authorization")
        return actor

    return dependency


def _writes(actor: Actor) -> bool:
    """May change something at all (each action then checks its own permission)."""
    return any(actor.can(p) for p in Permission if p not in (Permission.read, Permission.analyse))


ReadPrincipal = Annotated[
    Actor, Depends(require(lambda a: a.can(Permission.read), "this role may not read"))
]
AnalysePrincipal = Annotated[
    Actor,
    Depends(require(lambda a: a.can(Permission.analyse), "this role may not run analyses")),
]
WritePrincipal = Annotated[
    Actor, Depends(require(_writes, "this role may not change anything (read-only)"))
]
AdminPrincipal = Annotated[
    Actor,
    Depends(
        require(
            lambda a: a.can(Permission.manage_workspace), "this role may not manage the workspace"
        )
    ),
]

AccessAdminPrincipal = Annotated[
    Actor,
    Depends(require(lambda a: a.can(Permission.manage_access), "this role may not manage people")),
]
