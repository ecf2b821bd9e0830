from __future__ import annotations

from fastapi import APIRouter

from partitur.api.deps import AdminPrincipal, ContextDep
from partitur.privacy.audit import AuditEntry, list_audit

router = APIRouter(prefix="/api/audit", tags=["privacy"])


@router.get("", response_model=list[AuditEntry])
def audit_trail(
    subject_type: str, subject_id: str, ctx: ContextDep, who: AdminPrincipal
) -> list[AuditEntry]:
    """Who changed what and when, for one subject (a profile, journey, source, map, ...)."""
    with ctx.store.read() as conn:
        return list_audit(
            conn, workspace_id=who.workspace_id, subject_type=subject_type, subject_id=subject_id
        )
