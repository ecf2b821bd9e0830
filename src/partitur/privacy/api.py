"""HTTP API of privacy: the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from partitur.api.deps import AdminPrincipal, ContextDep
from partitur.privacy import service
from partitur.privacy.contracts import AuditPage

router = APIRouter(prefix="/api/audit", tags=["privacy"])


@router.get("", response_model=AuditPage)
def audit_trail(
    ctx: ContextDep,
    who: AdminPrincipal,
    subject_type: Annotated[str | None, Query(max_length=50)] = None,
    subject_id: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    credential: Annotated[str | None, Query(max_length=40)] = None,
) -> AuditPage:
    """Who changed what and when, newest first: filter by subject (a profile, journey, source,
    user, ...), actor (``user:usr_…``, ``service:svc_…``, ``anonymous`` for failed sign-ins),
    action (``journey.publish``, or ``session.`` for every sign-in and sign-out), the session
    or token the actor came through (``credential``) and time; page with ``cursor``."""
    with ctx.store.read() as conn:
        return service.audit_trail(
            conn,
            workspace_id=who.workspace_id,
            subject_type=subject_type,
            subject_id=subject_id,
            actor=actor,
            action=action,
            since=since,
            until=until,
            cursor=cursor,
            limit=limit,
            credential=credential,
        )
