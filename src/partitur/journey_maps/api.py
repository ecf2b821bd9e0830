from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel

from partitur.api.deps import ContextDep, ReadPrincipal, WritePrincipal
from partitur.journey_maps import io, render, service
from partitur.journey_maps.contracts import (
    BeforeAfter,
    Comment,
    JourneyMap,
    JourneyMapDocument,
    MapMeasurement,
    MapReport,
    MapVersion,
    RankedInsight,
    Taxonomy,
)

router = APIRouter(prefix="/api/maps", tags=["journey maps"])
DEFAULT_PERIOD = timedelta(days=90)


class CommentCreate(BaseModel):
    body: str
    element_id: str | None = None


def _period(ctx: Any, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    end = until or ctx.clock.now()
    return since or end - DEFAULT_PERIOD, end


@router.get("/schema")
def schema(_: ReadPrincipal) -> dict[str, Any]:
    """JSON Schema of the journey map document."""
    return JourneyMapDocument.model_json_schema()


@router.get("/taxonomy", response_model=Taxonomy)
def get_taxonomy(ctx: ContextDep, who: ReadPrincipal) -> Taxonomy:
    with ctx.store.read() as conn:
        return service.get_taxonomy(conn, workspace_id=who.workspace_id)


@router.put("/taxonomy", response_model=Taxonomy)
def put_taxonomy(body: Taxonomy, ctx: ContextDep, who: WritePrincipal) -> Taxonomy:
    with ctx.store.begin() as conn:
        return service.set_taxonomy(
            conn,
            workspace_id=who.workspace_id,
            taxonomy=body,
            now=ctx.clock.now(),
            actor=who,
        )


@router.get("", response_model=list[JourneyMap])
def list_maps(
    ctx: ContextDep,
    who: ReadPrincipal,
    status: str | None = None,
    state: str | None = None,
    parent: str | None = None,
    variant_of: str | None = None,
) -> list[JourneyMap]:
    with ctx.store.read() as conn:
        return service.list_maps(
            conn,
            workspace_id=who.workspace_id,
            status=status,
            state=state,
            parent_key=parent,
            variant_of=variant_of,
        )


@router.post("", response_model=JourneyMap, status_code=201)
def create_or_version(
    document: JourneyMapDocument,
    ctx: ContextDep,
    who: WritePrincipal,
    note: str = "",
    expected_version: int | None = None,
) -> JourneyMap:
    """Create a map, or store a new version of the map with this key."""
    with ctx.store.begin() as conn:
        return service.save_map(
            conn,
            workspace_id=who.workspace_id,
            document=document,
            now=ctx.clock.now(),
            actor=who,
            note=note,
            expected_version=expected_version,
        )


@router.post("/import", response_model=JourneyMap, status_code=201)
async def import_map(
    request: Request,
    ctx: ContextDep,
    who: WritePrincipal,
    format: str = Query("json", pattern="^(json|yaml|csv)$"),
) -> JourneyMap:
    """Import a map sent as JSON, YAML or the element CSV (request body)."""
    text = (await request.body()).decode("utf-8", errors="replace")
    document = io.load_text(text, fmt=format)
    with ctx.store.begin() as conn:
        return service.save_map(
            conn,
            workspace_id=who.workspace_id,
            document=document,
            now=ctx.clock.now(),
            actor=who,
            note="import",
        )


@router.get("/{key}", response_model=JourneyMap)
def get_map(
    key: str, ctx: ContextDep, who: ReadPrincipal, version: int | None = None
) -> JourneyMap:
    with ctx.store.read() as conn:
        return service.get_map(conn, workspace_id=who.workspace_id, key=key, version=version)


@router.delete("/{key}", status_code=204)
def delete_map(key: str, ctx: ContextDep, who: WritePrincipal) -> Response:
    with ctx.store.begin() as conn:
        service.delete_map(
            conn, workspace_id=who.workspace_id, key=key, now=ctx.clock.now(), actor=who
        )
    return Response(status_code=204)


@router.get("/{key}/history", response_model=list[MapVersion])
def history(key: str, ctx: ContextDep, who: ReadPrincipal) -> list[MapVersion]:
    with ctx.store.read() as conn:
        return service.history(conn, workspace_id=who.workspace_id, key=key)


@router.get("/{key}/comments", response_model=list[Comment])
def comments(key: str, ctx: ContextDep, who: ReadPrincipal) -> list[Comment]:
    with ctx.store.read() as conn:
        return service.list_comments(conn, workspace_id=who.workspace_id, key=key)


@router.post("/{key}/comments", response_model=Comment, status_code=201)
def add_comment(
    key: str, ctx: ContextDep, who: WritePrincipal, body: CommentCreate = Body(...)
) -> Comment:
    with ctx.store.begin() as conn:
        return service.add_comment(
            conn,
            workspace_id=who.workspace_id,
            key=key,
            body=body.body,
            element_id=body.element_id,
            author=who.name or who.label,
            now=ctx.clock.now(),
            actor=who,
        )


@router.get("/{key}/export")
def export(
    key: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    format: str = Query("json", pattern="^(json|yaml|csv|svg|png|md|html)$"),
    measured: bool = Query(True, description="include measured data in pictures and reports"),
    since: datetime | None = None,
    until: datetime | None = None,
    version: int | None = None,
) -> Response:
    start, end = _period(ctx, since, until)
    content = service.export_map(
        ctx.store,
        workspace_id=who.workspace_id,
        key=key,
        fmt=format,
        version=version,
        since=start if measured else None,
        until=end if measured else None,
    )
    return Response(content, media_type=service.MEDIA_TYPES[format])


@router.get("/{key}/measure", response_model=MapMeasurement)
def measure(
    key: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    since: datetime | None = None,
    until: datetime | None = None,
) -> MapMeasurement:
    """Measured volume, conversion, drop-off, satisfaction, sentiment and emotion per stage."""
    start, end = _period(ctx, since, until)
    return service.measure(
        ctx.store, workspace_id=who.workspace_id, key=key, since=start, until=end
    )


@router.get("/{key}/report", response_model=MapReport)
def report(
    key: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    since: date | None = Query(None, description="first measured day (UTC), YYYY-MM-DD"),
    until: date | None = Query(None, description="last measured day (UTC), YYYY-MM-DD"),
) -> MapReport:
    """The map measured over whole days (default: the last 90 up to today) with its pain
    points and opportunities ranked by impact against effort, from one analytics engine."""
    return service.map_report(
        ctx.store,
        workspace_id=who.workspace_id,
        key=key,
        since=since,
        until=until,
        today=ctx.clock.now().astimezone(UTC).date(),
    )


@router.get("/{key}/insights", response_model=list[RankedInsight])
def insights(
    key: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[RankedInsight]:
    """Pain points and opportunities ranked by impact against effort."""
    start, end = _period(ctx, since, until)
    return service.ranked_insights(
        ctx.store, workspace_id=who.workspace_id, key=key, since=start, until=end
    )


@router.get("/{key}/insights/matrix")
def insights_matrix(
    key: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    format: str = Query("svg", pattern="^(svg|png)$"),
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    """The prioritisation matrix as a picture."""
    start, end = _period(ctx, since, until)
    ranked = service.ranked_insights(
        ctx.store, workspace_id=who.workspace_id, key=key, since=start, until=end
    )
    content = render.render_matrix(ranked, title=f"{key}: impact vs effort", fmt=format)  # type: ignore[arg-type]
    return Response(content, media_type=service.MEDIA_TYPES[format])


@router.get("/{key}/insights/{insight_id}/before-after", response_model=BeforeAfter)
def before_after(
    key: str,
    insight_id: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    since: datetime | None = None,
    until: datetime | None = None,
) -> BeforeAfter:
    """The KPI of the insight's stage before and after the linked journey went live."""
    start, end = _period(ctx, since, until)
    return service.insight_before_after(
        ctx.store,
        workspace_id=who.workspace_id,
        key=key,
        insight_id=insight_id,
        since=start,
        until=end,
    )
