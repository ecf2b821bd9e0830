"""HTTP API of segments: CRUD, size, members, preview, rebuild, the change feed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from partitur.api.deps import ContextDep, ReadPrincipal, WritePrincipal
from partitur.core import jsonutil
from partitur.core.errors import BadRequest
from partitur.core.pagination import Page
from partitur.core.safe_yaml import load_yaml
from partitur.segments import service
from partitur.segments.contracts import (
    BuildResult,
    Member,
    MembershipChange,
    Preview,
    PreviewRequest,
    Segment,
    SegmentDetail,
    SegmentUpdate,
)

router = APIRouter(prefix="/api/segments", tags=["segments"])

_DOCUMENT = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
        "required": True,
    }
}


async def _document(request: Request) -> Any:
    """The request body as a document: JSON, or YAML when the content type says so."""
    raw = await request.body()
    try:
        if "yaml" in request.headers.get("content-type", ""):
            return await run_in_threadpool(load_yaml, raw)
        return jsonutil.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON or YAML: {exc}", field="body") from None


@router.get("", response_model=list[Segment])
def list_segments(ctx: ContextDep, who: ReadPrincipal) -> list[Segment]:
    with ctx.store.read() as conn:
        return service.list_segments(conn, workspace_id=who.workspace_id)


@router.post("", response_model=SegmentDetail, status_code=201, openapi_extra=_DOCUMENT)
async def create_segment(request: Request, ctx: ContextDep, who: WritePrincipal) -> SegmentDetail:
    """Create a segment from a JSON or YAML document and build its membership."""
    definition = service.parse_definition(await _document(request))

    def work() -> SegmentDetail:
        with ctx.store.begin() as conn:
            return service.create_segment(
                conn,
                workspace_id=who.workspace_id,
                definition=definition,
                now=ctx.clock.now(),
                actor=who,
            )

    created = await run_in_threadpool(work)  # a build may take seconds: not on the event loop
    ctx.signals.notify("segments")
    return created


@router.post("/preview", response_model=Preview)
async def preview(request: Request, ctx: ContextDep, who: ReadPrincipal) -> Preview:
    """Estimated size and a sample of a rule's audience, without saving anything."""
    document = await _document(request)
    try:
        body = PreviewRequest.model_validate(document)
    except ValidationError as exc:
        raise service.invalid_document(exc) from None

    def work() -> Preview:
        with ctx.store.read() as conn:
            return service.preview(
                conn,
                workspace_id=who.workspace_id,
                rule=body.rule,
                now=ctx.clock.now(),
                sample=body.sample,
            )

    return await run_in_threadpool(work)


@router.get("/changes", response_model=list[MembershipChange])
def changes(
    ctx: ContextDep,
    who: ReadPrincipal,
    after: int = Query(0, ge=0, description="return changes with seq > after"),
    limit: int = Query(100, ge=1, le=10_000),
) -> list[MembershipChange]:
    """The membership change feed in ``seq`` order."""
    with ctx.store.read() as conn:
        return service.changes_since(conn, workspace_id=who.workspace_id, after=after, limit=limit)


@router.get("/{key}", response_model=SegmentDetail)
def get_segment(key: str, ctx: ContextDep, who: ReadPrincipal) -> SegmentDetail:
    with ctx.store.read() as conn:
        return service.get_segment(conn, workspace_id=who.workspace_id, key=key)


@router.put("/{key}", response_model=SegmentDetail, openapi_extra=_DOCUMENT)
async def update_segment(
    key: str, request: Request, ctx: ContextDep, who: WritePrincipal
) -> SegmentDetail:
    """Save a new version (name, description, rule) and rebuild membership."""
    document = await _document(request)
    if isinstance(document, dict):
        document = {k: v for k, v in document.items() if k != "key" or v == key}
    try:
        update = SegmentUpdate.model_validate(document)
    except ValidationError as exc:
        raise service.invalid_document(exc) from None

    def work() -> SegmentDetail:
        with ctx.store.begin() as conn:
            return service.update_segment(
                conn,
                workspace_id=who.workspace_id,
                key=key,
                update=update,
                now=ctx.clock.now(),
                actor=who,
            )

    updated = await run_in_threadpool(work)
    ctx.signals.notify("segments")
    return updated


@router.delete("/{key}", status_code=204)
def delete_segment(key: str, ctx: ContextDep, who: WritePrincipal) -> Response:
    with ctx.store.begin() as conn:
        service.delete_segment(
            conn, workspace_id=who.workspace_id, key=key, now=ctx.clock.now(), actor=who
        )
    return Response(status_code=204)


@router.get("/{key}/members", response_model=Page[Member])
def members(
    key: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    limit: int = Query(100, ge=1, le=1000),
) -> Page[Member]:
    with ctx.store.read() as conn:
        return service.members(
            conn, workspace_id=who.workspace_id, segment_key=key, cursor=cursor, limit=limit
        )


@router.post("/{key}/rebuild", response_model=BuildResult)
def rebuild(key: str, ctx: ContextDep, who: WritePrincipal) -> BuildResult:
    """Recompute membership from scratch (set-based)."""
    with ctx.store.begin() as conn:
        result = service.rebuild(
            conn, workspace_id=who.workspace_id, key=key, now=ctx.clock.now(), actor=who
        )
    ctx.signals.notify("segments")
    return result
