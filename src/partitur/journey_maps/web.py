"""Journey maps in the web UI (read-only): the list of maps, and one map drawn with its
measured stages and its pain points and opportunities ranked by impact against effort.

Everything is read through ``journey_maps.service``; the measurement and the ranking come from
one analytics engine (``service.measured_insights``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from partitur.api.deps import ContextDep
from partitur.core.errors import NotFound, ValidationFailed
from partitur.journey_maps import service
from partitur.journey_maps.contracts import JourneyMapDocument
from partitur.journey_maps.render import render_map
from partitur.web.charts import inline_svg
from partitur.web.ui import NavItem, UiPrincipal, login_redirect, register_templates, render

router = APIRouter(prefix="/ui/maps", include_in_schema=False)
NAV_ITEMS = [NavItem("maps", "Journey maps", "/ui/maps", 70, "map")]
register_templates(Path(__file__).parent / "templates")

#: The measured period: the last 90 days, as the API's default.
MEASURED_DAYS = 90
QUADRANTS = {
    "quick_win": "quick win",
    "major_project": "major project",
    "fill_in": "fill-in",
    "thankless": "thankless task",
}


def owners(document: JourneyMapDocument) -> dict[str, str]:
    """Who owns each pain point and opportunity: the owner of its touchpoint, else the map's."""
    by_touchpoint = {t.id: t.owner for s in document.stages for t in s.touchpoints}
    return {
        item.id: (by_touchpoint.get(item.touchpoint or "") or document.owner)
        for stage in document.stages
        for item in stage.pain_points + stage.opportunities
    }


def period(since: str | None, until: str | None, *, today: date) -> tuple[datetime, datetime]:
    """The measured period from the page's ``since`` and ``until`` days (inclusive, UTC; by
    default the last ``MEASURED_DAYS`` up to today). Raises ``ValidationFailed`` naming the
    field at fault."""
    try:
        last = date.fromisoformat(until) if until else today
    except ValueError:
        raise ValidationFailed("until is a day as YYYY-MM-DD", field="until") from None
    try:
        first = date.fromisoformat(since) if since else last - timedelta(days=MEASURED_DAYS - 1)
    except ValueError:
        raise ValidationFailed("since is a day as YYYY-MM-DD", field="since") from None
    if first > last:
        raise ValidationFailed("since must be on or before until", field="since")
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return start, datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)


def _not_found(request: Request, who: UiPrincipal, message: str) -> HTMLResponse:
    return render(
        request,
        "not_found.html",
        who=who,
        active="maps",
        title="Journey map not found",
        detail=message,
        back_href="/ui/maps",
        back_label="Back to journey maps",
        status_code=404,
    )


@router.get("", response_class=HTMLResponse)
def maps_page(request: Request, ctx: ContextDep, who: UiPrincipal) -> Response:
    if who is None:
        return login_redirect(request)
    with ctx.store.read() as conn:
        maps = service.list_maps(conn, workspace_id=who.workspace_id)
        taxonomy = service.get_taxonomy(conn, workspace_id=who.workspace_id)
    return render(
        request,
        "journey_maps/list.html",
        who=who,
        active="maps",
        title="Journey maps",
        maps=maps,
        stage_names={s.key: s.name for s in taxonomy.stages},
    )


@router.get("/{key}", response_class=HTMLResponse)
def map_page(
    request: Request,
    ctx: ContextDep,
    who: UiPrincipal,
    key: str,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    if who is None:
        return login_redirect(request)
    with ctx.store.read() as conn:
        try:
            current = service.get_map(conn, workspace_id=who.workspace_id, key=key)
        except NotFound:
            return _not_found(request, who, f"There is no journey map {key}.")
        taxonomy = service.get_taxonomy(conn, workspace_id=who.workspace_id)
    today = ctx.clock.now().astimezone(UTC).date()
    error = None
    try:
        start, end = period(since or None, until or None, today=today)
    except ValidationFailed as exc:
        error = str(exc.detail)
        start, end = period(None, None, today=today)
    measurement, ranked = service.measured_insights(
        ctx.store, workspace_id=who.workspace_id, key=key, since=start, until=end
    )
    document = current.document
    picture = inline_svg(
        render_map(document, taxonomy, measurement, fmt="svg"),
        title=f"{document.name}: stages, touchpoints, pain points and the emotional curve",
        min_width=max(560, 240 * len(document.stages)),
    )
    return render(
        request,
        "journey_maps/detail.html",
        who=who,
        active="maps",
        title=document.name,
        map=current,
        document=document,
        stage_names={s.key: s.name for s in taxonomy.stages},
        measurement=measurement,
        first_day=start.date(),
        last_day=(end - timedelta(days=1)).date(),
        period_error=error,
        ranked=ranked,
        owners=owners(document),
        touchpoints={t.id: t for s in document.stages for t in s.touchpoints},
        quadrants=QUADRANTS,
        picture=picture,
        status_code=400 if error else 200,
    )
