"""Journey maps in the web UI (read-only): the list of maps, and one map drawn with its
measured stages and its pain points and opportunities ranked by impact against effort.

Everything is read through ``journey_maps.service``; the measurement and the ranking come from
one analytics engine (``service.measured_insights``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from partitur.api.deps import ContextDep
from partitur.core.errors import NotFound
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
def map_page(request: Request, ctx: ContextDep, who: UiPrincipal, key: str) -> Response:
    if who is None:
        return login_redirect(request)
    with ctx.store.read() as conn:
        try:
            current = service.get_map(conn, workspace_id=who.workspace_id, key=key)
        except NotFound:
            return _not_found(request, who, f"There is no journey map {key}.")
        taxonomy = service.get_taxonomy(conn, workspace_id=who.workspace_id)
    until = ctx.clock.now()
    since = until - timedelta(days=MEASURED_DAYS)
    measurement, ranked = service.measured_insights(
        ctx.store, workspace_id=who.workspace_id, key=key, since=since, until=until
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
        ranked=ranked,
        owners=owners(document),
        touchpoints={t.id: t for s in document.stages for t in s.touchpoints},
        quadrants=QUADRANTS,
        picture=picture,
    )
