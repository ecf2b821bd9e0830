"""Suppressions and bounces: addresses nothing is sent to, the bounce ledger, and bounce
reports from providers and from the bounce mailbox (RFC 3464 delivery status notifications)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from partitur.channels import repository
from partitur.channels.bounces import NotADsn, parse_dsn
from partitur.channels.contracts import BounceIn, BounceOutcome, Suppression
from partitur.channels.feedback import emit_events
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import NotFound, ValidationFailed
from partitur.core.ids import new_id


def suppress(
    conn: Connection, *, workspace_id: str, channel: str, address: str, reason: str, now: datetime
) -> bool:
    """Put an address on the suppression list (idempotent); True if it was not there."""
    return repository.add_suppression(
        conn, workspace_id=workspace_id, channel=channel, address=address, reason=reason, now=now
    )


def unsuppress(conn: Connection, *, workspace_id: str, channel: str, address: str) -> None:
    """Take an address off the suppression list (a customer opted in again)."""
    repository.remove_suppression(conn, workspace_id=workspace_id, channel=channel, address=address)


def list_suppressions(conn: Connection, *, workspace_id: str) -> list[Suppression]:
    """The workspace's suppression list, oldest first."""
    rows = repository.suppression_rows(conn, workspace_id=workspace_id)
    return [Suppression.model_validate(r) for r in rows]


@action("suppression.add", permission=Permission.edit_profiles, subject="suppression")
def add_suppression(
    conn: Connection,
    *,
    workspace_id: str,
    channel: str,
    address: str,
    reason: str,
    now: datetime,
    actor: Actor,
) -> bool:
    """Put an address on the suppression list (nothing is sent to it on that channel)."""
    added = suppress(
        conn, workspace_id=workspace_id, channel=channel, address=address, reason=reason, now=now
    )
    # the address itself stays out of the audit log (personal data)
    describe(subject_id=channel, details={"reason": reason, "added": added})
    return added


def record_bounce(
    conn: Connection, *, workspace_id: str, bounce: BounceIn, now: datetime
) -> BounceOutcome:
    """A bounce report, from any source. Every bounce goes in the bounce ledger; a hard bounce
    or complaint puts the address on the suppression list at once, soft bounces do so when the
    policy's ``soft_bounce_limit`` is reached within its window. The message (when known) gets
    a ``message.bounced`` event and, once its address is undeliverable, the status ``bounced``.
    """
    row = repository.message_row(conn, bounce.message_id) if bounce.message_id else None
    if bounce.message_id and (row is None or row["workspace_id"] != workspace_id):
        raise NotFound(f"no message {bounce.message_id}", field="message_id")
    address = bounce.address or (row["recipient"] if row else None)
    if not address:
        raise ValidationFailed("a bounce needs a message_id or an address", field="address")
    address = address.strip().lower() if bounce.channel == "email" else address.strip()
    reason = bounce.reason or (f"status {bounce.status}" if bounce.status else bounce.kind)
    earlier = repository.bounces_of_message(conn, message_id=row["id"]) if row else 0
    repository.insert_bounce(
        conn,
        {
            "id": new_id("bnc"),
            "workspace_id": workspace_id,
            "channel": bounce.channel,
            "address": address,
            "kind": bounce.kind,
            "status_code": bounce.status,
            "message_id": row["id"] if row else None,
            "reason": reason[:2000],
            "received_at": now,
        },
    )
    soft = 0
    why: str | None = None
    if bounce.kind in ("hard", "complaint"):
        why = "complaint" if bounce.kind == "complaint" else "hard_bounce"
    else:
        policy = repository.load_policy(conn, workspace_id=workspace_id)
        soft = repository.soft_bounces(
            conn,
            workspace_id=workspace_id,
            channel=bounce.channel,
            address=address,
            since=now - timedelta(days=policy.soft_bounce_window_days),
        )
        if soft >= policy.soft_bounce_limit:
            why = "soft_bounce_limit"
    if why is not None:
        suppress(
            conn,
            workspace_id=workspace_id,
            channel=bounce.channel,
            address=address,
            reason=why,
            now=now,
        )
    if row is not None:
        undeliverable = why is not None
        repository.update_message(
            conn,
            message_id=row["id"],
            values={
                "status": "bounced" if undeliverable else row["status"],
                "error": f"{bounce.kind} bounce: {reason}",
                "updated_at": now,
            },
        )
        extra: dict[str, Any] = {
            "kind": bounce.kind,
            "reason": reason,
            "status": bounce.status,
            "address": address,
            "undeliverable": undeliverable,
            "_seq": earlier + 1,  # distinct from the dispatcher's own RCPT bounce event
        }
        if bounce.kind == "soft":
            extra["soft_bounces"] = soft
        emit_events(conn, workspace_id=workspace_id, items=[("bounced", row, extra)], now=now)
    return BounceOutcome(
        address=address,
        channel=bounce.channel,
        kind=bounce.kind,
        status=bounce.status,
        message_id=row["id"] if row else None,
        soft_bounces=soft,
        undeliverable=why is not None,
    )


def record_dsn(
    conn: Connection, *, workspace_id: str, raw: bytes, now: datetime
) -> list[BounceOutcome]:
    """A bounce message as mail servers send it (RFC 3464 ``multipart/report``): every failed
    or delayed recipient it names is recorded as a hard or soft bounce (``record_bounce``).
    Raises ``ValidationFailed`` (field ``message``) when the bytes are not a DSN."""
    try:
        report = parse_dsn(raw)
    except NotADsn as exc:
        raise ValidationFailed(
            f"not a delivery status notification: {exc}", field="message"
        ) from exc
    message_id = report.message_id
    if message_id is not None:
        row = repository.message_row(conn, message_id)
        if row is None or row["workspace_id"] != workspace_id:
            message_id = None  # a message of another system (or workspace): the address counts
    outcomes = []
    for recipient in report.recipients:
        outcomes.append(
            record_bounce(
                conn,
                workspace_id=workspace_id,
                bounce=BounceIn(
                    message_id=message_id,
                    address=recipient.address,
                    channel="email",
                    kind=recipient.kind,
                    reason=recipient.reason,
                    status=recipient.status,
                ),
                now=now,
            )
        )
    return outcomes


@action("bounce.report", permission=Permission.ingest, subject="message", wakes=("events",))
def report_bounce(
    conn: Connection, *, workspace_id: str, bounce: BounceIn, now: datetime, actor: Actor
) -> BounceOutcome:
    """A bounce or complaint reported by a provider or a bounce mailbox."""
    outcome = record_bounce(conn, workspace_id=workspace_id, bounce=bounce, now=now)
    describe(subject_id=bounce.message_id or "", details={"kind": bounce.kind})
    return outcome


@action("bounce.report_dsn", permission=Permission.ingest, subject="message", wakes=("events",))
def report_dsn(
    conn: Connection, *, workspace_id: str, raw: bytes, now: datetime, actor: Actor
) -> list[BounceOutcome]:
    """A raw delivery status notification: each failed or delayed recipient is a bounce."""
    outcomes = record_dsn(conn, workspace_id=workspace_id, raw=raw, now=now)
    describe(details={"recipients": len(outcomes)})
    return outcomes
