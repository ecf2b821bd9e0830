"""HTTP API of the decisions domain: routing, next best offer, value tiers, policies, offers."""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Body, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection

from partitur.access import service as access
from partitur.api.deps import AdminPrincipal, ContextDep, ReadPrincipal, WritePrincipal
from partitur.api.fastlane import hot_route
from partitur.context import Context
from partitur.core.actions import Actor, Permission
from partitur.core.errors import BadRequest, Forbidden, Unauthorized
from partitur.decisions import service
from partitur.decisions.contracts import (
    Offer,
    OfferDecision,
    OfferIn,
    OfferRequest,
    RouteDecision,
    RouteRequest,
    ValueAssessment,
)
from partitur.decisions.service import OfferImpression
from partitur.storage.group_commit import GroupCommitWriter

router = APIRouter(prefix="/api/decisions", tags=["decisions"])
M = TypeVar("M", bound=BaseModel)


@router.post("/route", response_model=RouteDecision)
async def route(body: RouteRequest, ctx: ContextDep, who: ReadPrincipal) -> RouteDecision:
    """Where a contact goes (specialist, standard agent, bot, self-service, complaint
    management), its priority (1 = most urgent) and the reasons."""
    # async on purpose: a few indexed reads (milliseconds) are cheaper inline on the event
    # loop than a hop to the thread pool, which roughly doubled throughput in bench/decisions.py
    with ctx.store.read() as conn:
        return service.route_request(
            conn, workspace_id=who.workspace_id, request=body, now=ctx.clock.now()
        )


@router.post("/offers", response_model=OfferDecision)
def decide_offer(body: OfferRequest, ctx: ContextDep, who: WritePrincipal) -> OfferDecision:
    """The next best offer for a profile in a placement (records the impression)."""
    with ctx.store.begin() as conn:
        return service.next_best_offer(
            conn,
            workspace_id=who.workspace_id,
            profile_id=body.profile_id,
            placement=body.placement,
            now=ctx.clock.now(),
        )


@router.get("/value/{profile_id}", response_model=ValueAssessment)
def value(profile_id: str, ctx: ContextDep, who: ReadPrincipal) -> ValueAssessment:
    """Value score, tier and service level of a profile."""
    with ctx.store.read() as conn:
        return service.assess_value(conn, workspace_id=who.workspace_id, profile_id=profile_id)


@router.post("/value/refresh")
def refresh_values(ctx: ContextDep, who: AdminPrincipal) -> dict[str, int]:
    """Recompute and store the value tier of every profile."""
    with ctx.store.begin() as conn:
        updated = service.score_all_values(
            conn, workspace_id=who.workspace_id, now=ctx.clock.now(), actor=who
        )
    return {"profiles_updated": updated}


@router.get("/policies/{kind}")
def get_policy(kind: str, ctx: ContextDep, who: ReadPrincipal) -> dict[str, Any]:
    """The live routing, value_model or offers policy and its version (0 = built-in)."""
    with ctx.store.read() as conn:
        version, policy = service.get_policy(conn, workspace_id=who.workspace_id, kind=kind)
    return {
        "kind": kind,
        "version": version,
        "document": policy.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


@router.put("/policies/{kind}")
def put_policy(
    kind: str, ctx: ContextDep, who: AdminPrincipal, document: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """Store a new version of a policy (validated; problems name the path at fault)."""
    with ctx.store.begin() as conn:
        version, policy = service.put_policy(
            conn,
            workspace_id=who.workspace_id,
            kind=kind,
            document=document,
            now=ctx.clock.now(),
            actor=who,
        )
    return {
        "kind": kind,
        "version": version,
        "document": policy.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


@router.get("/catalogue", response_model=list[Offer])
def list_offers(ctx: ContextDep, who: ReadPrincipal) -> list[Offer]:
    with ctx.store.read() as conn:
        return service.list_offers(conn, workspace_id=who.workspace_id)


@router.get("/catalogue/{key}", response_model=Offer)
def get_offer(key: str, ctx: ContextDep, who: ReadPrincipal) -> Offer:
    with ctx.store.read() as conn:
        return service.get_offer(conn, workspace_id=who.workspace_id, key=key)


@router.put("/catalogue/{key}", response_model=Offer)
def put_offer(key: str, body: OfferIn, ctx: ContextDep, who: AdminPrincipal) -> Offer:
    """Create or replace an offer."""
    with ctx.store.begin() as conn:
        return service.put_offer(
            conn,
            workspace_id=who.workspace_id,
            key=key,
            offer=body,
            now=ctx.clock.now(),
            actor=who,
        )


@router.delete("/catalogue/{key}", status_code=204)
def delete_offer(key: str, ctx: ContextDep, who: AdminPrincipal) -> Response:
    with ctx.store.begin() as conn:
        service.delete_offer(
            conn, workspace_id=who.workspace_id, key=key, now=ctx.clock.now(), actor=who
        )
    return Response(status_code=204)


# --- hot path --------------------------------------------------------------------------------

#: How long a bearer token -> principal lookup is trusted (a revoked token stops within this).
TOKEN_CACHE_SECONDS = 5.0
_tokens: dict[str, tuple[Actor, float]] = {}


def _principal(ctx: Context, request: Request, permission: Permission) -> Actor:
    kind, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if kind.lower() != "bearer" or not token:
        raise Unauthorized(
            "send an API token as 'Authorization: Bearer <token>'", field="Authorization"
        )
    now = time.monotonic()
    cached = _tokens.get(token)
    if cached is None or cached[1] < now:
        with ctx.store.read() as conn:
            principal = access.authenticate_token(conn, token)
        if len(_tokens) > 10_000:
            _tokens.clear()
        cached = (principal, now + TOKEN_CACHE_SECONDS)
        _tokens[token] = cached
    if not cached[0].can(permission):
        raise Forbidden(
            f"this token may not do this (needs {permission.value!r})", field="Authorization"
        )
    return cached[0]


async def _body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("the body is not valid JSON", field="body") from exc
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


def _json(model: BaseModel) -> Response:
    return Response(orjson.dumps(model.model_dump(mode="json")), media_type="application/json")


async def _fast_route(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    who = _principal(ctx, request, Permission.read)
    body = await _body(request, RouteRequest)
    with ctx.store.read() as conn:
        decision = service.route_request(
            conn, workspace_id=who.workspace_id, request=body, now=ctx.clock.now()
        )
    return _json(decision)


def _record_impressions(conn: Connection, impressions: list[OfferImpression]) -> list[None]:
    for impression in impressions:
        service.record_offer_impression(conn, impression)
    return [None] * len(impressions)


def _impression_writer(request: Request) -> GroupCommitWriter[OfferImpression, None]:
    writer: GroupCommitWriter[OfferImpression, None] | None = getattr(
        request.app.state, "impression_writer", None
    )
    if writer is None:
        writer = GroupCommitWriter(
            request.app.state.ctx.store, _record_impressions, name="partitur-impressions"
        )
        request.app.state.impression_writer = writer
    return writer


async def _fast_offers(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    who = _principal(ctx, request, Permission.send_messages)
    body = await _body(request, OfferRequest)
    # Decide on a short read transaction (WAL readers never wait), then answer once the
    # impression is committed; impressions of concurrent requests share one transaction.
    with ctx.store.read() as conn:
        decision, impression = service.choose_offer(
            conn,
            workspace_id=who.workspace_id,
            profile_id=body.profile_id,
            placement=body.placement,
            now=ctx.clock.now(),
        )
    if impression is not None:
        await asyncio.wrap_future(_impression_writer(request).submit(impression))
    return _json(decision)


def _serve_decisions_in_the_fast_lane() -> None:
    """Hot path: the two decision endpoints skip the middleware stack, route matching and
    dependency solving (``partitur.api.fastlane``): a short token cache, orjson in and out. The
    routes above stay for the OpenAPI documentation."""
    hot_route("POST", "/api/decisions/route", _fast_route)
    hot_route("POST", "/api/decisions/offers", _fast_offers)


_serve_decisions_in_the_fast_lane()
