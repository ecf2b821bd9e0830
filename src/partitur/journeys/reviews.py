"""Four-eyes publishing: a draft is submitted, and a publisher who did not submit it approves
it — with the published version, the submitted draft and their differences in front of them —
or rejects it with a comment. Only an approval publishes. Each step is an action, audited
with the person who took it.

The workspace turns this on in its access settings (``access.service.four_eyes_publish``);
then ``journeys.service.publish`` refuses people, and designers (who may not publish) get
their journeys published through an approval. A submission may be made in any workspace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.diff import document_diff
from partitur.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from partitur.core.ids import new_id
from partitur.journeys import service
from partitur.journeys.contracts import (
    DocumentChange,
    JourneySubmission,
    PublishedVersion,
    SubmissionReview,
)
from partitur.journeys.tables import journey_submissions, journey_versions

STATUSES = ("pending", "approved", "rejected", "withdrawn")


def _submission(row: Any) -> JourneySubmission:
    return JourneySubmission(
        id=row.id,
        journey_key=row.journey_key,
        status=row.status,
        base_version=row.base_version,
        submitted_by=row.submitted_by,
        submitted_by_name=row.submitted_by_name,
        submitted_at=row.submitted_at,
        comment=row.comment,
        decided_by=row.decided_by,
        decided_by_name=row.decided_by_name,
        decided_at=row.decided_at,
        decision_comment=row.decision_comment,
        published_version=row.published_version,
    )


def _row(conn: Connection, *, workspace_id: str, key: str, submission_id: str) -> Any:
    service.journey_row(conn, workspace_id=workspace_id, key=key)  # NotFound naming ``key``
    row = conn.execute(
        select(journey_submissions).where(
            journey_submissions.c.workspace_id == workspace_id,
            journey_submissions.c.journey_key == key,
            journey_submissions.c.id == submission_id,
        )
    ).first()
    if row is None:
        raise NotFound(f"no submission {submission_id} of journey {key!r}", field="submission_id")
    return row


def _comment(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) > 2000:
        raise ValidationFailed("a comment has at most 2000 characters", field="comment")
    return text or None


def list_submissions(
    conn: Connection, *, workspace_id: str, key: str | None = None, status: str | None = None
) -> list[JourneySubmission]:
    """Submissions, newest first: of one journey, or the workspace's (e.g. those pending)."""
    if status is not None and status not in STATUSES:
        raise ValidationFailed(f"status is one of {', '.join(STATUSES)}", field="status")
    query = select(journey_submissions).where(journey_submissions.c.workspace_id == workspace_id)
    if key is not None:
        service.journey_row(conn, workspace_id=workspace_id, key=key)
        query = query.where(journey_submissions.c.journey_key == key)
    if status is not None:
        query = query.where(journey_submissions.c.status == status)
    rows = conn.execute(
        query.order_by(journey_submissions.c.submitted_at.desc(), journey_submissions.c.id.desc())
    )
    return [_submission(r) for r in rows]


def _published(conn: Connection, journey: Any) -> dict[str, Any] | None:
    if journey.latest_version is None:
        return None
    document: dict[str, Any] | None = conn.execute(
        select(journey_versions.c.definition).where(
            journey_versions.c.journey_id == journey.id,
            journey_versions.c.version == journey.latest_version,
        )
    ).scalar()
    return document


def review(
    conn: Connection, *, workspace_id: str, key: str, submission_id: str
) -> SubmissionReview:
    """The submission with the version published now, the submitted draft and every
    difference between them."""
    row = _row(conn, workspace_id=workspace_id, key=key, submission_id=submission_id)
    journey = service.journey_row(conn, workspace_id=workspace_id, key=key)
    published = _published(conn, journey)
    changes = document_diff(published or {}, row.document)
    return SubmissionReview(
        submission=_submission(row),
        published=published,
        published_version=journey.latest_version,
        proposed=row.document,
        changes=[
            DocumentChange(path=c.path, kind=c.kind, before=c.before, after=c.after)
            for c in changes
        ],
        draft_changed_since=journey.draft != row.document,
    )


@action("journey.submit", permission=Permission.edit_journeys, subject="journey", subject_key="key")
def submit_draft(
    conn: Connection,
    *,
    workspace_id: str,
    key: str,
    now: datetime,
    actor: Actor,
    comment: str | None = None,
) -> JourneySubmission:
    """Submit the journey's draft for publishing. It must pass the same validation as a
    publish (a reviewer never sees a draft that could not be published); later edits to the
    draft do not change what was submitted."""
    journey = service.journey_row(conn, workspace_id=workspace_id, key=key)
    if journey.status == "stopped":
        raise Conflict(f"journey {key!r} is stopped; create a new journey", field="status")
    definition = service.validate(conn, workspace_id=workspace_id, document=journey.draft)
    document = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    submission_id = new_id("jsb")
    conn.execute(
        journey_submissions.insert().values(
            id=submission_id,
            workspace_id=workspace_id,
            journey_id=journey.id,
            journey_key=key,
            document=document,
            base_version=journey.latest_version,
            status="pending",
            submitted_by=actor.label,
            submitted_by_name=actor.name,
            submitted_at=now,
            comment=_comment(comment),
        )
    )
    describe(
        details={"submission": submission_id, "base_version": journey.latest_version},
    )
    return _submission(_row(conn, workspace_id=workspace_id, key=key, submission_id=submission_id))


def _pending(conn: Connection, *, workspace_id: str, key: str, submission_id: str) -> Any:
    row = _row(conn, workspace_id=workspace_id, key=key, submission_id=submission_id)
    if row.status != "pending":
        raise Conflict(f"this submission is {row.status} already", field="submission_id")
    return row


@action(
    "journey.approve", permission=Permission.publish_journeys, subject="journey", subject_key="key"
)
def approve(
    conn: Connection,
    *,
    workspace_id: str,
    key: str,
    submission_id: str,
    now: datetime,
    actor: Actor,
    comment: str | None = None,
) -> JourneySubmission:
    """Approve a submission — by a publisher who did not submit it — and publish the draft
    as submitted as the journey's next version."""
    row = _pending(conn, workspace_id=workspace_id, key=key, submission_id=submission_id)
    if row.submitted_by == actor.label:
        raise Forbidden(
            "you submitted this draft: another publisher approves it", field="submission_id"
        )
    journey = service.journey_row(conn, workspace_id=workspace_id, key=key)
    published: PublishedVersion = service.publish_document(
        conn, workspace_id=workspace_id, row=journey, document=row.document, now=now
    )
    conn.execute(
        journey_submissions.update()
        .where(journey_submissions.c.id == row.id)
        .values(
            status="approved",
            decided_by=actor.label,
            decided_by_name=actor.name,
            decided_at=now,
            decision_comment=_comment(comment),
            published_version=published.version,
        )
    )
    describe(
        before={"version": journey.latest_version},
        after={"version": published.version},
        details={"submission": row.id, "submitted_by": row.submitted_by},
    )
    return _submission(_row(conn, workspace_id=workspace_id, key=key, submission_id=row.id))


@action("journey.reject", permission=Permission.edit_journeys, subject="journey", subject_key="key")
def reject(
    conn: Connection,
    *,
    workspace_id: str,
    key: str,
    submission_id: str,
    comment: str,
    now: datetime,
    actor: Actor,
) -> JourneySubmission:
    """Reject a submission with a comment saying why (a publisher), or withdraw one's own
    (its submitter). Nothing is published."""
    row = _pending(conn, workspace_id=workspace_id, key=key, submission_id=submission_id)
    own = row.submitted_by == actor.label
    if not own:
        actor.require(Permission.publish_journeys)
    text = _comment(comment)
    if text is None and not own:
        raise ValidationFailed("say why the draft is rejected", field="comment")
    status = "withdrawn" if own else "rejected"
    conn.execute(
        journey_submissions.update()
        .where(journey_submissions.c.id == row.id)
        .values(
            status=status,
            decided_by=actor.label,
            decided_by_name=actor.name,
            decided_at=now,
            decision_comment=text,
        )
    )
    describe(details={"submission": row.id, "status": status, "comment": text})
    return _submission(_row(conn, workspace_id=workspace_id, key=key, submission_id=row.id))
