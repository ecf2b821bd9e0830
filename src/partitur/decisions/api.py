"""HTTP API of the decisions domain: routing, next best offer, value tiers, policies, offers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response

from partitur.api.deps import AdminPrincipal, ContextDep, ReadPrincipal, WritePrincipal
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

router = APIRouter(prefix="/api/decisions", tags=["decisions"])


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
        updated = service.score_all_values(conn, workspace_id=who.workspace_id, now=ctx.clock.now())
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
            actor=who.token_id,
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
            actor=who.token_id,
        )


@router.delete("/catalogue/{key}", status_code=204)
def delete_offer(key: str, ctx: ContextDep, who: AdminPrincipal) -> Response:
    with ctx.store.begin() as conn:
        service.delete_offer(
            conn, workspace_id=who.workspace_id, key=key, now=ctx.clock.now(), actor=who.token_id
        )
    return Response(status_code=204)
