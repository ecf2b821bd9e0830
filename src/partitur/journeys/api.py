"""HTTP API of journeys: documents, lifecycle, enrolment, instances, history and counts.

Journey documents are accepted as JSON or YAML (``Content-Type: application/yaml``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from partitur.api.deps import ContextDep, ReadPrincipal, WritePrincipal
from partitur.core import jsonutil
from partitur.core.errors import BadRequest
from partitur.core.safe_yaml import load_yaml
from partitur.journeys import reviews, service
from partitur.journeys.backfill import backfill
from partitur.journeys.contracts import (
    BackfillResult,
    EnrolResult,
    InstanceInfo,
    JourneyDetail,
    JourneySubmission,
    JourneySummary,
    NodeCount,
    PublishedVersion,
    SubmissionReview,
    ValidationResult,
)
from partitur.journeys.definition import JourneyDefinition, json_schema

router = APIRouter(prefix="/api/journeys", tags=["journeys"])


async def read_document(request: Request) -> dict[str, Any]:
    raw = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
    try:
        if kind in ("application/yaml", "application/x-yaml", "text/yaml"):
            document = await run_in_threadpool(load_yaml, raw)
        else:
            document = jsonutil.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the body is not valid {kind}: {exc}", field="body") from exc
    if not isinstance(document, dict):
        raise BadRequest("a journey document is an object", field="body")
    return document


class EnrolBody(BaseModel):
    profile_ids: list[str] = Field(min_length=1, max_length=10_000)


class TestModeBody(BaseModel):
    enabled: bool


class BackfillBody(BaseModel):
    #: replay the stored history from this time (ISO 8601 with an offset) until now
    since: AwareDatetime
    #: deliver the sends the replay makes (default: withdraw them, nobody wants old reminders)
    deliver: bool = False


@router.get("", response_model=list[JourneySummary])
def list_journeys(ctx: ContextDep, who: ReadPrincipal) -> list[JourneySummary]:
    with ctx.store.read() as conn:
        return service.list_journeys(conn, workspace_id=who.workspace_id)


@router.get("/schema")
def schema(who: ReadPrincipal) -> dict[str, Any]:
    """The JSON Schema of journey documents."""
    return json_schema()


@router.post(
    "",
    response_model=JourneySummary,
    status_code=201,
    openapi_extra={"requestBody": {"content": {"application/json": {}, "application/yaml": {}}}},
)
async def save_draft(request: Request, ctx: ContextDep, who: WritePrincipal) -> JourneySummary:
    """Create a journey, or replace the draft of the journey with the document's key."""
    document = await read_document(request)
    with ctx.store.begin() as conn:
        return service.save_draft(
            conn,
            workspace_id=who.workspace_id,
            document=document,
            now=ctx.clock.now(),
            actor=who,
        )


@router.post("/validate", response_model=ValidationResult)
async def validate(request: Request, ctx: ContextDep, who: ReadPrincipal) -> ValidationResult:
    """Validate a document without saving it: 200 when valid, else 422 listing every problem."""
    document = await read_document(request)
    with ctx.store.read() as conn:
        service.validate(conn, workspace_id=who.workspace_id, document=document)
    return ValidationResult(valid=True, problems=[])


@router.get("/by-profile/{profile_id}", response_model=list[InstanceInfo])
def profile_journeys(profile_id: str, ctx: ContextDep, who: ReadPrincipal) -> list[InstanceInfo]:
    """A profile's journeys, newest first, each with its transitions (node, time, reason)."""
    with ctx.store.read() as conn:
        return service.profile_journeys(conn, workspace_id=who.workspace_id, profile_id=profile_id)


@router.get("/{key}", response_model=JourneyDetail)
def get_journey(key: str, ctx: ContextDep, who: ReadPrincipal) -> JourneyDetail:
    with ctx.store.read() as conn:
        return service.get_journey(conn, workspace_id=who.workspace_id, key=key)


@router.get("/{key}/definition", response_model=JourneyDefinition, response_model_by_alias=True)
def get_definition(
    key: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    draft: bool = Query(False, description="the draft instead of the published version"),
) -> JourneyDefinition:
    """The journey's definition as a typed document: its latest published version, or the
    draft (when asked for, or when nothing is published yet)."""
    with ctx.store.read() as conn:
        return service.get_definition(conn, workspace_id=who.workspace_id, key=key, draft=draft)


@router.post("/{key}/publish", response_model=PublishedVersion, status_code=201)
def publish(key: str, ctx: ContextDep, who: WritePrincipal) -> PublishedVersion:
    """Validate the draft and publish it as the next immutable version (422 with problems)."""
    with ctx.store.begin() as conn:
        return service.publish(
            conn, workspace_id=who.workspace_id, key=key, now=ctx.clock.now(), actor=who
        )


@router.put("/{key}/test-mode", response_model=JourneySummary)
def test_mode(key: str, body: TestModeBody, ctx: ContextDep, who: WritePrincipal) -> JourneySummary:
    """In test mode only test profiles (``is_test``) enter."""
    with ctx.store.begin() as conn:
        return service.set_test_mode(
            conn,
            workspace_id=who.workspace_id,
            key=key,
            enabled=body.enabled,
            now=ctx.clock.now(),
            actor=who,
        )


@router.post("/{key}/enrolments", response_model=EnrolResult)
def enrol(key: str, body: EnrolBody, ctx: ContextDep, who: WritePrincipal) -> EnrolResult:
    """Enrol profiles now (re-entry, throttle and test mode apply)."""
    with ctx.store.begin() as conn:
        result = service.enrol(
            conn,
            workspace_id=who.workspace_id,
            key=key,
            profile_ids=body.profile_ids,
            now=ctx.clock.now(),
            actor=who,
        )
    return result


@router.post("/{key}/backfill", response_model=BackfillResult)
def backfill_journey(
    key: str, body: BackfillBody, ctx: ContextDep, who: WritePrincipal
) -> BackfillResult:
    """Run a just-published journey over the stored history since ``since`` as if it had been
    live (once per journey; 409 if it has instances or was backfilled already)."""
    return backfill(
        ctx,
        keys=[key],
        since=body.since,
        workspace_id=who.workspace_id,
        actor=who,
        deliver=body.deliver,
    )


@router.get("/{key}/instances", response_model=list[InstanceInfo])
def list_instances(
    key: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    status: Annotated[str | None, Query(pattern="^(active|completed|exited|converted)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: str | None = None,
) -> list[InstanceInfo]:
    """Instances by id (``after`` is the last id of the previous page)."""
    with ctx.store.read() as conn:
        return service.list_instances(
            conn, workspace_id=who.workspace_id, key=key, status=status, limit=limit, after=after
        )


@router.get("/{key}/latest-instances", response_model=list[InstanceInfo])
def latest_instances(
    key: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[InstanceInfo]:
    """The most recently entered instances, newest first."""
    with ctx.store.read() as conn:
        return service.latest_instances(conn, workspace_id=who.workspace_id, key=key, limit=limit)


@router.get("/{key}/nodes", response_model=list[NodeCount])
def node_counts(
    key: str, ctx: ContextDep, who: ReadPrincipal, version: int | None = None
) -> list[NodeCount]:
    """Per node: instances that entered it and instances waiting there now."""
    with ctx.store.read() as conn:
        return service.node_counts(conn, workspace_id=who.workspace_id, key=key, version=version)


# --- four-eyes publishing ----------------------------------------------------------------------


class SubmissionBody(BaseModel):
    comment: str | None = Field(default=None, max_length=2000)


class RejectionBody(BaseModel):
    comment: str = Field(max_length=2000)


@router.post("/{key}/submissions", response_model=JourneySubmission, status_code=201)
def submit(
    key: str, ctx: ContextDep, who: WritePrincipal, body: SubmissionBody | None = None
) -> JourneySubmission:
    """Submit the draft for publishing by a second person (validated like a publish; 422
    with the problems). Where the workspace publishes with four eyes, this is how a journey
    gets published."""
    with ctx.store.begin() as conn:
        return reviews.submit_draft(
            conn,
            workspace_id=who.workspace_id,
            key=key,
            comment=body.comment if body else None,
            now=ctx.clock.now(),
            actor=who,
        )


@router.get("/{key}/submissions", response_model=list[JourneySubmission])
def journey_submissions(
    key: str,
    ctx: ContextDep,
    who: ReadPrincipal,
    status: Literal["pending", "approved", "rejected", "withdrawn"] | None = None,
) -> list[JourneySubmission]:
    """The journey's submissions, newest first."""
    with ctx.store.read() as conn:
        return reviews.list_submissions(conn, workspace_id=who.workspace_id, key=key, status=status)


@router.get("/{key}/submissions/{submission_id}", response_model=SubmissionReview)
def review_submission(
    key: str, submission_id: str, ctx: ContextDep, who: ReadPrincipal
) -> SubmissionReview:
    """What the reviewer decides on: the published version, the submitted draft and every
    difference between them (by path: ``nodes[id=wait].duration``)."""
    with ctx.store.read() as conn:
        return reviews.review(
            conn, workspace_id=who.workspace_id, key=key, submission_id=submission_id
        )


@router.post("/{key}/submissions/{submission_id}/approve", response_model=JourneySubmission)
def approve_submission(
    key: str,
    submission_id: str,
    ctx: ContextDep,
    who: WritePrincipal,
    body: SubmissionBody | None = None,
) -> JourneySubmission:
    """Approve and publish the submitted draft: a publisher, never its submitter."""
    with ctx.store.begin() as conn:
        return reviews.approve(
            conn,
            workspace_id=who.workspace_id,
            key=key,
            submission_id=submission_id,
            comment=body.comment if body else None,
            now=ctx.clock.now(),
            actor=who,
        )


@router.post("/{key}/submissions/{submission_id}/reject", response_model=JourneySubmission)
def reject_submission(
    key: str, submission_id: str, body: RejectionBody, ctx: ContextDep, who: WritePrincipal
) -> JourneySubmission:
    """Reject with a comment saying why (a publisher), or withdraw one's own submission."""
    with ctx.store.begin() as conn:
        return reviews.reject(
            conn,
            workspace_id=who.workspace_id,
            key=key,
            submission_id=submission_id,
            comment=body.comment,
            now=ctx.clock.now(),
            actor=who,
        )


@router.post("/{key}/{action}", response_model=JourneySummary)
def change_status(
    key: str,
    action: Literal["pause", "resume", "stop"],
    ctx: ContextDep,
    who: WritePrincipal,
) -> JourneySummary:
    """Pause (entries, timers and events held), resume, or stop (every instance exits)."""
    with ctx.store.begin() as conn:
        return service.STATUS_ACTIONS[action](
            conn, workspace_id=who.workspace_id, key=key, now=ctx.clock.now(), actor=who
        )


#: the review queue across journeys (outside ``/api/journeys/{key}``, so no journey key is
#: ever mistaken for it)
review_router = APIRouter(prefix="/api/journey-submissions", tags=["journeys"])


@review_router.get("", response_model=list[JourneySubmission])
def all_submissions(
    ctx: ContextDep,
    who: ReadPrincipal,
    status: Literal["pending", "approved", "rejected", "withdrawn"] | None = "pending",
) -> list[JourneySubmission]:
    """Submissions of every journey, newest first (by default those awaiting a decision)."""
    with ctx.store.read() as conn:
        return reviews.list_submissions(conn, workspace_id=who.workspace_id, status=status)
