"""HTTP API of identity resolution: its progress and the identifiers of erased people."""

from __future__ import annotations

from fastapi import APIRouter

from partitur.api.deps import AdminPrincipal, ContextDep, ReadPrincipal
from partitur.identity import service
from partitur.identity.contracts import ResolutionStatus, SuppressedIdentifier

router = APIRouter(prefix="/api/identity", tags=["identity"])


@router.get("/status", response_model=ResolutionStatus)
def status(ctx: ContextDep, who: ReadPrincipal) -> ResolutionStatus:
    """How far identity resolution has come: the resolved position in the event log and the
    events still waiting for their profile."""
    with ctx.store.read() as conn:
        return service.resolution_status(conn, workspace_id=who.workspace_id)


@router.get("/suppressions", response_model=list[SuppressedIdentifier])
def suppressions(ctx: ContextDep, who: AdminPrincipal) -> list[SuppressedIdentifier]:
    """Identifiers of erased people (SHA-256 only) and how many messages each has stopped."""
    with ctx.store.read() as conn:
        return service.suppressed_identifiers(conn, workspace_id=who.workspace_id)
