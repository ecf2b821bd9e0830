"""The web UI: server-rendered pages on the same server as the API (``/`` and ``/ui/...``).

Pages read through service functions and ``partitur.web.readmodel``; the browser carries the
API token in an HttpOnly, SameSite=Strict cookie set by the login page. Other domains add pages
through ``WEB_MODULES`` (see ``partitur.web.ui`` and docs/web-ui.md).
"""

from __future__ import annotations

import importlib
import mimetypes
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from partitur.api.deps import ContextDep
from partitur.core.actions import Permission
from partitur.core.errors import NotFound, Unauthorized
from partitur.events import service as events_service
from partitur.web import readmodel
from partitur.web.charts import series_for, stacked_bars
from partitur.web.ui import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    WEB_DIR,
    NavItem,
    UiPrincipal,
    login_redirect,
    register_nav,
    render,
)
from partitur.workspaces import service as workspaces

router = APIRouter(include_in_schema=False)

#: Domains that add pages: each module exposes ``router`` and ``NAV_ITEMS`` (see web/ui.py).
WEB_MODULES = [
    "partitur.segments.web",
    "partitur.journeys.web",
    "partitur.channels.web",
    "partitur.decisions.web",
    "partitur.ml.web",
    "partitur.analytics.web",
    "partitur.journey_maps.web",
]

_STATIC = WEB_DIR / "static"
#: Preferred order of the well-known sources in charts (others follow by name).
_SOURCE_ORDER = ["web", "app", "shop", "email", "crm", "support", "surveys"]


def _include_domain_pages() -> None:
    for name in WEB_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                continue
            raise
        router.include_router(module.router)
        items: list[NavItem] = getattr(module, "NAV_ITEMS", [])
        for item in items:
            register_nav(item)


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after login."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


# --- session ---------------------------------------------------------------------------------


@router.get("/ui/login", response_class=HTMLResponse)
def login_page(request: Request, who: UiPrincipal, next: str | None = None) -> Response:
    if who is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", who=None, next=_safe_next(next), error=None)


@router.post("/ui/login", response_class=HTMLResponse)
def login(
    request: Request,
    ctx: ContextDep,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    token = token.strip()
    error = None
    if not token:
        error = "Enter an API token."
    else:
        with ctx.store.read() as conn:
            try:
                principal = workspaces.authenticate(conn, token)
            except Unauthorized:
                principal = None
        if principal is None:
            error = "This token is unknown or has been revoked."
        elif not principal.can(Permission.read):
            error = "This token lacks the 'read' scope."
    if error:
        return render(
            request, "login.html", who=None, next=_safe_next(next), error=error, status_code=401
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/ui/logout")
def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- pages -------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, ctx: ContextDep, who: UiPrincipal) -> Response:
    if who is None:
        return login_redirect(request)
    now = ctx.clock.now()
    with ctx.store.read() as conn:
        data = readmodel.overview(conn, workspace_id=who.workspace_id, now=now)
    names = [n for n in _SOURCE_ORDER if n in data.sources] + [
        n for n in data.sources if n not in _SOURCE_ORDER
    ]
    used = {n for d in data.daily for n in d.by_source}
    series = series_for([n for n in names if n in used] + sorted(used - set(names)))
    chart = stacked_bars(
        [d.day for d in data.daily],
        [d.by_source for d in data.daily],
        series,
        title="Events per day and source (UTC)",
    )
    return render(
        request,
        "overview.html",
        who=who,
        active="overview",
        title="Overview",
        data=data,
        chart=chart,
        series=series,
        period_total=sum(d.total for d in data.daily),
    )


@router.get("/ui/profiles", response_class=HTMLResponse)
def profiles(
    request: Request,
    ctx: ContextDep,
    who: UiPrincipal,
    q: Annotated[str, Query(max_length=255)] = "",
) -> Response:
    if who is None:
        return login_redirect(request)
    with ctx.store.read() as conn:
        if q.strip():
            found = readmodel.find_profiles(
                conn,
                workspace_id=who.workspace_id,
                query=q,
                external_kinds=list(ctx.settings.identity_external_id_traits),
            )
            if len(found) == 1:
                return RedirectResponse(f"/ui/profiles/{found[0].id}", status_code=303)
        else:
            found = readmodel.recent_profiles(conn, workspace_id=who.workspace_id)
    return render(
        request, "profiles.html", who=who, active="profiles", title="Profiles", q=q, found=found
    )


@router.get("/ui/profiles/{profile_id}", response_class=HTMLResponse)
def profile(
    request: Request,
    ctx: ContextDep,
    who: UiPrincipal,
    profile_id: str,
    cursor: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    if who is None:
        return login_redirect(request)
    with ctx.store.read() as conn:
        view = readmodel.get_profile(conn, workspace_id=who.workspace_id, profile_id=profile_id)
        if view is None:
            return render(
                request,
                "not_found.html",
                who=who,
                active="profiles",
                title="Profile not found",
                detail=str(NotFound(f"There is no profile {profile_id}.").detail),
                status_code=404,
            )
        if view.id != profile_id:
            return RedirectResponse(f"/ui/profiles/{view.id}", status_code=303)
        items, older = readmodel.timeline(
            conn, workspace_id=who.workspace_id, profile_id=view.id, cursor=cursor, limit=50
        )
    return render(
        request,
        "profile.html",
        who=who,
        active="profiles",
        title=view.name,
        profile=view,
        timeline=items,
        older=older,
    )


@router.get("/ui/quarantine", response_class=HTMLResponse)
def quarantine(
    request: Request,
    ctx: ContextDep,
    who: UiPrincipal,
    cursor: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    if who is None:
        return login_redirect(request)
    with ctx.store.read() as conn:
        items, next_cursor = events_service.list_quarantine(
            conn, workspace_id=who.workspace_id, cursor=cursor, limit=50
        )
        names = {s.id: s.name for s in workspaces.list_sources(conn, workspace_id=who.workspace_id)}
    return render(
        request,
        "quarantine.html",
        who=who,
        active="quarantine",
        title="Quarantine",
        items=items,
        next_cursor=next_cursor,
        sources=names,
    )


@router.get("/ui/sources", response_class=HTMLResponse)
def sources(request: Request, ctx: ContextDep, who: UiPrincipal) -> Response:
    if who is None:
        return login_redirect(request)
    with ctx.store.read() as conn:
        rows = workspaces.list_sources(conn, workspace_id=who.workspace_id)
    return render(
        request,
        "sources.html",
        who=who,
        active="sources",
        title="Sources",
        sources=rows,
        show_keys=who.can(Permission.manage_workspace),
    )


@router.get("/ui/static/{name}")
def static(name: str) -> Response:
    """The UI's CSS, JavaScript and images (a flat directory; no paths)."""
    path = _STATIC / name
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise NotFound(f"no static file {name!r}", field="name")
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=300"})


_include_domain_pages()
