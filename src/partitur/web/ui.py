"""What every page of the web UI shares: templates, the signed-in principal and the navigation.

Adding a page from another domain (see docs/web-ui.md):

1. create ``partitur/<domain>/web.py`` with ``router = APIRouter(prefix="/ui/<name>")`` and
   ``NAV_ITEMS = [NavItem(key="<name>", label="...", href="/ui/<name>", order=40)]``;
2. its handlers take ``who: UiPrincipal`` and ``ctx: ContextDep``, return
   ``login_redirect(request)`` when ``who`` is None, read data through service functions and
   answer ``render(request, "<domain>/page.html", who=who, active="<name>", ...)``;
3. its templates live in ``partitur/<domain>/templates/<domain>/`` and start with
   ``{% extends "base.html" %}``.

``partitur.web.api`` finds the module through ``WEB_MODULES``: a domain that does not exist
simply has no navigation entry.
"""

from __future__ import annotations

import importlib.resources
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from partitur import __version__
from partitur.api.deps import ContextDep
from partitur.core.actions import Actor, Permission
from partitur.core.clock import parse_iso8601
from partitur.core.errors import Unauthorized
from partitur.workspaces.service import authenticate

#: The cookie that carries the API token of a signed-in browser (HttpOnly, SameSite=Strict).
SESSION_COOKIE = "partitur_session"
SESSION_MAX_AGE = 12 * 3600

WEB_DIR = Path(str(importlib.resources.files("partitur.web")))


@dataclass(frozen=True)
class NavItem:
    """An entry of the sidebar: ``key`` is matched against a page's ``active`` argument."""

    key: str
    label: str
    href: str
    #: sort position: 10 overview, 20 profiles, 30-80 domains, 90 sources
    order: int = 50
    #: name of an icon in templates/icons.html (dashboard, people, route, chart, map, key, ...)
    icon: str = "dot"


_NAV: list[NavItem] = [
    NavItem("overview", "Overview", "/", 10, "dashboard"),
    NavItem("profiles", "Profiles", "/ui/profiles", 20, "people"),
    NavItem("quarantine", "Quarantine", "/ui/quarantine", 85, "alert"),
    NavItem("sources", "Sources", "/ui/sources", 90, "key"),
]


def register_nav(item: NavItem) -> None:
    """Add a sidebar entry (idempotent by key)."""
    if all(existing.key != item.key for existing in _NAV):
        _NAV.append(item)


def nav_items() -> list[NavItem]:
    return sorted(_NAV, key=lambda item: (item.order, item.label))


_loaders: list[FileSystemLoader] = [FileSystemLoader(str(WEB_DIR / "templates"))]
env = Environment(loader=ChoiceLoader(_loaders), autoescape=select_autoescape(["html"]))


def register_templates(directory: Path) -> None:
    """Make a domain's template directory available (its names should start with the domain)."""
    if all(str(directory) not in loader.searchpath for loader in _loaders):
        _loaders.append(FileSystemLoader(str(directory)))


def _localtime(
    value: datetime | None, zone: str | None = None, fmt: str = "%d %b %Y, %H:%M"
) -> str:
    if value is None:
        return "—"
    try:
        tz = ZoneInfo(zone) if zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return value.astimezone(tz).strftime(fmt)


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _display(value: Any, zone: str | None = None) -> str:
    """A trait value for people: timestamps in the profile's zone, numbers grouped."""
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return _localtime(parse_iso8601(value), zone)
        except ValueError:
            return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _number(value)
    return str(value)


def _number(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    if isinstance(value, int | float):
        return f"{int(value):,}"
    return str(value)


def _event_icon(item: Any) -> str:
    """The icon of a timeline entry, from its type and event name."""
    if item.type in ("identify", "page", "screen"):
        return str(item.type)
    name = str(item.name)
    for words, icon in (
        (("Order", "Product Added", "Checkout"), "cart"),
        (("Email", "Unsubscribed"), "mail"),
        (("Ticket",), "chat"),
        (("Review", "NPS", "CSAT", "Survey"), "star"),
        (("Viewed",), "eye"),
    ):
        if any(w in name for w in words):
            return icon
    return "dot"


env.filters["localtime"] = _localtime
env.filters["event_icon"] = _event_icon
env.filters["number"] = _number
env.filters["display"] = _display
env.globals["version"] = __version__


def render(
    request: Request, template: str, *, who: Actor | None, active: str = "", **context: Any
) -> HTMLResponse:
    """Render ``template`` inside the layout with the navigation and the signed-in principal."""
    html = env.get_template(template).render(
        request=request,
        who=who,
        active=active,
        nav=nav_items(),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=context.get("status_code", 200))


def ui_principal(request: Request, ctx: ContextDep) -> Actor | None:
    """The principal of the session cookie, or None if there is none or it no longer works."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with ctx.store.read() as conn:
        try:
            principal = authenticate(conn, token)
        except Unauthorized:
            return None
    return principal if principal.can(Permission.read) else None


UiPrincipal = Annotated[Actor | None, Depends(ui_principal)]


def login_redirect(request: Request) -> RedirectResponse:
    """Send the browser to the login page, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
