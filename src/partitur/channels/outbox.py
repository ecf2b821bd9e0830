"""The outbox: sends are put in (idempotent by their key), withdrawn, read and listed. The
dispatcher (``dispatch``) takes them out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.channels import repository
from partitur.channels.contracts import (
    CHANNELS,
    Message,
    NodeMessages,
    QueuedMessage,
    SendRequest,
)
from partitur.channels.feedback import emit_events
from partitur.channels.recipients import recipients_of_messages
from partitur.channels.template_library import has_template
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import Conflict, NotFound, ValidationFailed
from partitur.core.ids import new_ids
from partitur.core.pagination import Page, decode_cursor, encode_cursor
from partitur.profiles import service as profiles


def known_channels() -> set[str]:
    """Channels a journey may send on."""
    return set(CHANNELS)


def enqueue(conn: Connection, *, request: SendRequest, now: datetime) -> QueuedMessage:
    """Put one message in the outbox inside the caller's transaction.

    The idempotency key is unique: a repeat returns the existing message with
    ``duplicate=True`` and is never sent twice. A ``not_before`` in the future defers the send.
    """
    return enqueue_many(conn, requests=[request], now=now)[0]


def enqueue_many(
    conn: Connection, *, requests: list[SendRequest], now: datetime
) -> list[QueuedMessage]:
    """Put many messages in the outbox inside the caller's transaction; one answer per request,
    in order, exactly as if ``enqueue`` were called for each in turn.

    Set-based: one lookup of the idempotency keys, one multi-row insert (``ON CONFLICT DO
    NOTHING`` on the key, so a concurrent writer of the same key is never sent twice), the
    recipients of all new messages loaded at once and their ``message.queued`` events ingested
    as one batch per workspace. A key repeated within ``requests`` is inserted once; its later
    requests answer ``duplicate=True`` with the first one's message.
    """
    if not requests:
        return []
    firsts: dict[str, SendRequest] = {}
    for request in requests:
        firsts.setdefault(request.idempotency_key, request)
    rows = {
        key: _outbox_row(request, now, message_id)
        for (key, request), message_id in zip(
            firsts.items(), new_ids("msg", len(firsts)), strict=True
        )
    }
    existing = repository.messages_by_keys(conn, list(rows))
    fresh = [row for key, row in rows.items() if key not in existing]
    if repository.insert_messages(conn, fresh) != len(fresh):
        # another transaction took some of these keys between the lookup and the insert
        keys = [row["idempotency_key"] for row in fresh]
        stored = repository.messages_by_keys(conn, keys)
        for key in keys:
            if key not in stored:  # pragma: no cover - the unique key was taken by another row
                raise Conflict("idempotency key is taken", field="idempotency_key")
            if stored[key][0] != rows[key]["id"]:
                existing[key] = stored[key]
        fresh = [row for row in fresh if row["idempotency_key"] not in existing]
    if fresh:
        recipients = recipients_of_messages(conn, fresh)
        by_workspace: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
        for row in fresh:
            at = {"_at": row["replayed_at"]} if row["replayed_at"] else {}
            by_workspace.setdefault(row["workspace_id"], []).append(("queued", row, at))
        for workspace_id, items in by_workspace.items():
            emit_events(
                conn, workspace_id=workspace_id, items=items, now=now, recipients=recipients
            )
    answers: list[QueuedMessage] = []
    answered: set[str] = set()
    for request in requests:
        key = request.idempotency_key
        if key in existing:
            message_id, status = existing[key]
            answers.append(
                QueuedMessage.model_validate(
                    {"id": message_id, "status": status, "duplicate": True}
                )
            )
        else:
            row = rows[key]
            answers.append(
                QueuedMessage(id=row["id"], status=row["status"], duplicate=key in answered)
            )
        answered.add(key)
    return answers


def _outbox_row(request: SendRequest, now: datetime, message_id: str) -> dict[str, Any]:
    """The ``messages`` row of a new send (deferred when ``not_before`` is in the future)."""
    deferred = request.not_before is not None and request.not_before > now
    return {
        "id": message_id,
        "workspace_id": request.workspace_id,
        "profile_id": request.profile_id,
        "channel": request.channel,
        "template": request.template,
        "category": request.category,
        "journey_id": request.journey_id,
        "journey_version": request.journey_version,
        "instance_id": request.instance_id,
        "node_id": request.node_id,
        "status": "deferred" if deferred else "queued",
        "attempts": 0,
        "priority": request.priority,
        # a replay of history stamps the send at the moment it was made on the journey's clock
        "created_at": request.occurred_at or now,
        "updated_at": now,
        "replayed_at": request.occurred_at,
        "idempotency_key": request.idempotency_key,
        "next_attempt_at": request.not_before if deferred else None,
        "payload": request.payload,
        "data": request.data,
        "clicks": 0,
    }


@action(
    "message.send",
    permission=Permission.send_messages,
    subject="message",
    wakes=("outbox", "events"),
)
def send_message(
    conn: Connection, *, workspace_id: str, request: SendRequest, now: datetime, actor: Actor
) -> QueuedMessage:
    """Queue one message (idempotent by its key); the dispatcher sends it. A transactional
    send needs a template an admin marked transactional, or, without a template (its content
    in the payload), an admin sending it (``ValidationFailed`` otherwise). The profile and
    the template must be the workspace's (``NotFound``)."""
    profiles.require_profile(conn, workspace_id=workspace_id, profile_id=request.profile_id)
    if request.template is not None and not has_template(
        conn, workspace_id=workspace_id, key=request.template, kind="message"
    ):
        raise NotFound(f"no template {request.template!r}", field="template")
    if request.category == "transactional":
        if request.template is None:
            if not actor.can(Permission.manage_workspace):
                raise ValidationFailed(
                    "only an admin may send a message without a template as transactional",
                    field="category",
                )
        elif not repository.transactional_template(
            conn, workspace_id=workspace_id, key=request.template
        ):
            raise ValidationFailed(
                f"template {request.template!r} is not marked transactional by an admin: "
                "send it as marketing",
                field="category",
            )
    queued = enqueue(conn, request=request, now=now)
    describe(
        subject_id=queued.id,
        details={"channel": request.channel, "duplicate": queued.duplicate},
    )
    return queued


def withdraw_queued(
    conn: Connection,
    *,
    workspace_id: str,
    journey_ids: list[str],
    created_before: datetime,
    reason: str,
    now: datetime,
) -> int:
    """Withdraw journey sends still waiting in the outbox that were made before
    ``created_before`` (a journey backfill's replayed history): they become ``suppressed`` with
    ``reason`` and are never delivered. Returns how many."""
    if not journey_ids:
        return 0
    return repository.withdraw_queued(
        conn,
        workspace_id=workspace_id,
        journey_ids=journey_ids,
        created_before=created_before,
        reason=reason,
        now=now,
    )


def get_message(conn: Connection, *, workspace_id: str, message_id: str) -> Message:
    """One message of the workspace; ``NotFound`` for an unknown id."""
    row = repository.message_row(conn, message_id)
    if row is None or row["workspace_id"] != workspace_id:
        raise NotFound(f"no message {message_id}", field="message_id")
    return Message.model_validate(row)


#: outcomes of a message that was not and will not be sent
_NOT_SENT = ("suppressed", "capped")
_FAILED = ("failed", "bounced")


def messages_by_node(
    conn: Connection, *, workspace_id: str, journey_id: str, version: int | None = None
) -> list[NodeMessages]:
    """The messages each node of a journey put in the outbox, by outcome (of one ``version``
    when given), read from the outbox itself, so a send shows up as soon as it happens."""
    found: dict[str, NodeMessages] = {}
    for node, status, sent, delivered, count in repository.outcomes_by_node(
        conn, workspace_id=workspace_id, journey_id=journey_id, version=version
    ):
        tally = found.setdefault(node, NodeMessages(node_id=node))
        if sent:
            tally.sent += count
        if delivered:
            tally.delivered += count
        if status in _FAILED:
            tally.failed += count
        elif status in _NOT_SENT:
            tally.not_sent += count
        elif status in repository.DUE or status == "sending":
            tally.pending += count
    return sorted(found.values(), key=lambda t: t.node_id)


def list_messages(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str | None = None,
    status: str | None = None,
    journey_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Message]:
    """The workspace's messages, newest first, a page at a time; a ``profile_id`` unknown in
    the workspace is ``NotFound``."""
    if profile_id is not None:
        profiles.require_profile(conn, workspace_id=workspace_id, profile_id=profile_id)
    rows = repository.list_messages(
        conn,
        workspace_id=workspace_id,
        profile_id=profile_id,
        status=status,
        journey_id=journey_id,
        before_id=str(decode_cursor(cursor)) if cursor else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    items = [Message.model_validate(r) for r in rows[:limit]]
    return Page(items=items, next_cursor=encode_cursor(items[-1].id) if more and items else None)
