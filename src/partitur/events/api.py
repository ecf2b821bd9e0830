"""The Segment-compatible tracking API (``/v1/*``), the quarantine (``/api/quarantine``) and
the event log's volume (``/api/events/volume``).

The ``/v1`` handlers are on the hot path: they read the raw body, parse it with orjson and
validate by hand (``service.normalize``), then wait for the group-commit writer, so a 200 means
the events are durably committed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import zlib
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from partitur.api.deps import ContextDep, ReadPrincipal, WritePrincipal
from partitur.api.fastlane import hot_route
from partitur.context import Context
from partitur.core.errors import BadRequest, PayloadTooLarge, Unauthorized, ValidationFailed
from partitur.core.pagination import Page, decode_cursor, encode_cursor
from partitur.events import service
from partitur.events.contracts import (
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    EventVolume,
    IngestResult,
    QuarantinedMessage,
)
from partitur.events.group_commit import event_writer
from partitur.segments import service as segments
from partitur.segments.contracts import PreviewRequest
from partitur.workspaces.contracts import Source
from partitur.workspaces.service import source_for_write_key

router = APIRouter(tags=["tracking"])

#: How long a write key -> source lookup is trusted (a disabled key stops within this time).
KEY_CACHE_SECONDS = 30.0
UNKNOWN_KEY_CACHE_SECONDS = 2.0
_JSON = "application/json"


class IngestGateway:
    """Per-app state of the tracking API: the write-key cache and the group-commit writer."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.writer = event_writer(ctx.store, ctx.signals)
        self._keys: dict[str, tuple[Source | None, float]] = {}

    def _lookup(self, write_key: str) -> Source | None:
        with self.ctx.store.read() as conn:
            try:
                return source_for_write_key(conn, write_key)
            except Unauthorized:
                return None

    async def source(self, write_key: str) -> Source:
        now = time.monotonic()
        cached = self._keys.get(write_key)
        if cached is None or cached[1] < now:
            found = await run_in_threadpool(self._lookup, write_key)
            if len(self._keys) > 10_000:
                self._keys.clear()
            ttl = KEY_CACHE_SECONDS if found else UNKNOWN_KEY_CACHE_SECONDS
            cached = (found, now + ttl)
            self._keys[write_key] = cached
        if cached[0] is None:
            raise Unauthorized("unknown or disabled write key", field="writeKey")
        return cached[0]

    async def commit(self, batch: service.PreparedBatch) -> IngestResult:
        return await asyncio.wrap_future(self.writer.submit(batch))


def _gateway(request: Request) -> IngestGateway:
    gateway: IngestGateway | None = getattr(request.app.state, "ingest_gateway", None)
    if gateway is None:
        gateway = IngestGateway(request.app.state.ctx)
        request.app.state.ingest_gateway = gateway
    return gateway


async def _read_body(request: Request, limit: int, what: str) -> bytes:
    too_large = PayloadTooLarge(
        f"{what} is larger than {limit // 1024} KB", field="body", limit_bytes=limit
    )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error:
            raise BadRequest("body is not valid gzip", field="Content-Encoding") from None
        if len(body) > limit or inflater.unconsumed_tail:
            raise too_large
        if not inflater.eof:
            raise BadRequest("gzip body is truncated", field="Content-Encoding")
    elif encoding not in ("", "identity"):
        raise BadRequest(
            f"Content-Encoding {encoding!r} is not supported (use gzip)", field="Content-Encoding"
        )
    return body


def _basic_write_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized(
            "send the write key with HTTP Basic auth (key as user, empty password)",
            field="Authorization",
        )
    try:
        user = base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("Authorization is not valid HTTP Basic", field="Authorization") from None
    return user or None


async def _body_key_source(gateway: IngestGateway, body: dict[str, Any]) -> Source:
    key = body.get("writeKey")
    if not key or not isinstance(key, str):
        raise Unauthorized(
            "a write key is required: HTTP Basic (key as user name) or writeKey in the body",
            field="writeKey",
        )
    return await gateway.source(key)


def _parse(body: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}", field="body") from None
    if not isinstance(document, dict):
        raise BadRequest("body must be a JSON object", field="body")
    return document


def _ok(result: IngestResult) -> Response:
    body = {
        "success": True,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": [r.model_dump() for r in result.rejected],
    }
    return Response(orjson.dumps(body), media_type=_JSON)


async def _single(request: Request, kind: str) -> Response:
    gateway = _gateway(request)
    received_at = gateway.ctx.clock.now()
    # HTTP Basic is checked before the body is read; a writeKey in the body after parsing it
    header_key = _basic_write_key(request)
    source = await gateway.source(header_key) if header_key else None
    body = _parse(await _read_body(request, MAX_MESSAGE_BYTES, "a message"))
    if source is None:
        source = await _body_key_source(gateway, body)
    body["type"] = kind
    batch = service.prepare(
        [body],
        workspace_id=source.workspace_id,
        source_id=source.id,
        received_at=received_at,
        origin=f"api:/v1/{kind}",
        check_size=False,  # the body limit is the message limit
    )
    result = await gateway.commit(batch)
    if result.rejected:
        # kept in the quarantine by the commit above; the sender learns the field at fault
        rejection = result.rejected[0]
        raise BadRequest(rejection.reason, field=rejection.field or "body")
    return _ok(result)


_MESSAGE_SCHEMA = {
    "type": "object",
    "description": "A Segment message: userId and/or anonymousId, messageId, timestamp, sentAt, "
    "context, integrations, and per type event/properties (track), traits (identify, group), "
    "name/properties (page, screen), groupId (group), previousId (alias).",
    "additionalProperties": True,
}
_DOC = {
    "description": "Segment-compatible: a 200 means the events are durably committed. Auth: "
    "HTTP Basic with the write key as user name and an empty password, or writeKey in the body. "
    "Up to 32 KB; gzip accepted.",
    "requestBody": {"required": True, "content": {"application/json": {"schema": _MESSAGE_SCHEMA}}},
}
_BATCH_DOC = {
    "description": "Up to 500 KB (after gzip inflation). Invalid messages are reported in "
    "`rejected` and kept in the quarantine; the valid ones are stored.",
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["batch"],
                    "properties": {
                        "batch": {"type": "array", "items": _MESSAGE_SCHEMA},
                        "sentAt": {"type": "string", "format": "date-time"},
                        "context": {"type": "object"},
                        "writeKey": {"type": "string"},
                    },
                }
            }
        },
    },
}


@router.post("/v1/identify", openapi_extra=_DOC)
async def identify(request: Request) -> Response:
    """Who the user is and what we know about them (traits)."""
    return await _single(request, "identify")


@router.post("/v1/track", openapi_extra=_DOC)
async def track(request: Request) -> Response:
    """Something the user did (``event`` plus properties)."""
    return await _single(request, "track")


@router.post("/v1/page", openapi_extra=_DOC)
async def page(request: Request) -> Response:
    """A web page view."""
    return await _single(request, "page")


@router.post("/v1/screen", openapi_extra=_DOC)
async def screen(request: Request) -> Response:
    """An app screen view."""
    return await _single(request, "screen")


@router.post("/v1/group", openapi_extra=_DOC)
async def group(request: Request) -> Response:
    """The user belongs to a group (account, company: ``groupId``)."""
    return await _single(request, "group")


@router.post("/v1/alias", openapi_extra=_DOC)
async def alias(request: Request) -> Response:
    """``previousId`` and ``userId`` are the same person."""
    return await _single(request, "alias")


def _merge_batch_defaults(messages: list[Any], body: dict[str, Any]) -> None:
    # Batch-level context and integrations apply to every message (the message's own win).
    for key in ("context", "integrations"):
        shared = body.get(key)
        if not isinstance(shared, dict) or not shared:
            continue
        for message in messages:
            if isinstance(message, dict):
                own = message.get(key)
                if own is None or isinstance(own, dict):
                    message[key] = {**shared, **(own or {})}


@router.post("/v1/batch", openapi_extra=_BATCH_DOC)
async def batch(request: Request) -> Response:
    """Many messages at once (``batch``: a list, up to 500 KB). Invalid messages do not sink the
    valid ones: they are reported in ``rejected`` and kept in the quarantine."""
    gateway = _gateway(request)
    received_at = gateway.ctx.clock.now()
    header_key = _basic_write_key(request)
    source = await gateway.source(header_key) if header_key else None
    raw = await _read_body(request, MAX_BATCH_BYTES, "a batch request")
    body = _parse(raw)
    if source is None:
        source = await _body_key_source(gateway, body)
    messages = body.get("batch")
    if not isinstance(messages, list):
        raise BadRequest("batch must be a list of messages", field="batch")
    _merge_batch_defaults(messages, body)
    prepared = service.prepare(
        messages,
        workspace_id=source.workspace_id,
        source_id=source.id,
        received_at=received_at,
        origin="api:/v1/batch",
        sent_at=body.get("sentAt"),
        # a body under 32 KB cannot hold an oversized message: skip measuring each one
        check_size=len(raw) > MAX_MESSAGE_BYTES,
    )
    return _ok(await gateway.commit(prepared))


@router.get("/api/quarantine", response_model=Page[QuarantinedMessage], tags=["events"])
def quarantine(
    ctx: ContextDep,
    who: ReadPrincipal,
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    limit: int = Query(50, ge=1, le=500),
) -> Page[QuarantinedMessage]:
    """Messages refused by the tracking API or an import, newest first, with the reason."""
    after = decode_cursor(cursor) if cursor else None
    if after is not None and not isinstance(after, int):
        raise BadRequest("cursor is not valid", field="cursor")
    with ctx.store.read() as conn:
        items, next_id = service.list_quarantine(
            conn, workspace_id=who.workspace_id, cursor=after, limit=limit
        )
    return Page(items=items, next_cursor=encode_cursor(next_id) if next_id is not None else None)


@router.get("/api/events/volume", response_model=EventVolume, tags=["events"])
def event_volume(
    ctx: ContextDep,
    who: ReadPrincipal,
    days: int = Query(30, ge=1, le=366, description="length of the period in UTC days"),
) -> EventVolume:
    """Totals of the event log and the events per UTC day and source over the last ``days``
    days that have data (ending today, or on the day of the newest event if that is earlier)."""
    with ctx.store.read() as conn:
        return service.event_volume(
            conn, workspace_id=who.workspace_id, now=ctx.clock.now(), days=days
        )


class FanOutAudience(BaseModel):
    """Exactly one of: a segment's members now, or everyone a rule matches now (the segments'
    rule format, e.g. ``{"trait": "region", "op": "eq", "value": "Nord"}``)."""

    segment: str | None = None
    rule: dict[str, Any] | None = None


class FanOutBody(BaseModel):
    #: a Segment message (default type track) without userId/anonymousId; give a messageId so
    #: that a retried fan-out stores each copy once
    message: dict[str, Any]
    audience: FanOutAudience
    #: the source the copies are stored under (created when missing)
    source: str = Field("fan-out", min_length=1, max_length=100)


class FanOutResult(BaseModel):
    profiles: int
    accepted: int
    duplicates: int


@router.post("/api/events/fan-out", response_model=FanOutResult, tags=["events"])
def fan_out(body: FanOutBody, ctx: ContextDep, who: WritePrincipal) -> FanOutResult:
    """One event for everyone in an audience, such as an outage in a region: a copy of the
    message is stored for each matching profile (messageId ``<messageId>:<profile id>``), so
    journeys, segments and analytics see it as that person's event."""
    audience = body.audience
    if (audience.segment is None) == (audience.rule is None):
        raise ValidationFailed("give the audience as a segment or as a rule", field="audience")
    rule = None
    if audience.rule is not None:
        try:
            rule = PreviewRequest.model_validate({"rule": audience.rule}).rule
        except ValidationError as exc:
            raise segments.invalid_document(exc, "audience.") from None
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        if rule is not None:
            ids = segments.matching_profile_ids(
                conn, workspace_id=who.workspace_id, rule=rule, now=now
            )
        else:
            key = audience.segment or ""
            segments.get_segment(conn, workspace_id=who.workspace_id, key=key)  # NotFound
            ids = [
                pid
                for chunk in segments.audience(conn, workspace_id=who.workspace_id, segment_key=key)
                for pid in chunk
            ]
        result = service.fan_out(
            conn,
            workspace_id=who.workspace_id,
            message=body.message,
            profile_ids=ids,
            source=body.source,
            now=now,
            actor=who,
        )
    return FanOutResult(profiles=len(ids), accepted=result.accepted, duplicates=result.duplicates)


def _serve_tracking_in_the_fast_lane() -> None:
    """Hot path: ``/v1/*`` skips the middleware stack, route matching and FastAPI's dependency
    solving (``partitur.api.fastlane``); the handlers take only the request. The routes above
    stay for the OpenAPI documentation."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path.startswith("/v1/"):
            for method in route.methods or ():
                hot_route(method, route.path, route.endpoint)


_serve_tracking_in_the_fast_lane()
