"""What became of each claimed message, and the one place it is written down.

Every path through the dispatcher ends in a ``DeliveryOutcome``: the decisions before sending
(suppressed, capped, deferred, failed) and the provider's answer after it (sent, delivered,
bounced, failed, or deferred for a retry). ``record_outcomes`` writes any number of them in the
caller's transaction: the outbox rows (only those the claim still holds), the suppressions and
invalid device tokens they imply, the account owners' notices, and the delivery events. The
dispatcher records a batch's outcomes at once; recording each as its send completes is the same
call with one outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection

from partitur.channels import repository
from partitur.channels.contracts import DispatchReport, SendRequest
from partitur.channels.feedback import emit_events
from partitur.channels.inbox import invalidate_tokens
from partitur.channels.outbox import enqueue
from partitur.channels.plugins.email import normalise_email
from partitur.channels.recipients import Recipient
from partitur.channels.suppression import suppress

log = logging.getLogger(__name__)

Status = Literal["sent", "delivered", "bounced", "failed", "suppressed", "capped", "deferred"]


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What became of one claimed outbox message in a dispatcher pass."""

    #: the claimed outbox row (its ``claim`` guards the write)
    message: dict[str, Any]
    status: Status
    #: why it was not sent (now): the reason of a deferral, suppression, cap or failure
    error: str | None = None
    #: the address it went, or would have gone, to
    recipient: str | None = None
    #: deferred: when it is due again
    retry_at: datetime | None = None
    #: deferred: False when the wait (quiet hours, caps, a rate limit) was no failed attempt
    attempt_used: bool = True
    #: sent or delivered: the provider's name, its message id and the cost
    provider: str | None = None
    provider_message_id: str | None = None
    cost: Decimal | None = None
    #: properties added to the outcome's delivery event
    details: dict[str, Any] = field(default_factory=dict)
    #: sent or delivered: the person reached (their user id on the events, their account owner)
    reached: Recipient | None = None
    #: bounced: the address goes on the suppression list
    suppress_recipient: bool = False
    #: device tokens the push provider reported invalid
    invalid_tokens: Sequence[str] = ()


def record_outcomes(
    conn: Connection,
    outcomes: Sequence[DeliveryOutcome],
    *,
    now: datetime,
    report: DispatchReport,
) -> None:
    """Write these outcomes in the caller's transaction and count them in ``report``. Only
    the outcomes of messages still held by the claim they were read with count: a message
    another dispatcher re-claimed after the lease ran out is that one's to record."""
    kept = _still_claimed(conn, outcomes)
    if len(kept) != len(outcomes):
        log.warning("%d messages lost their claim while sending", len(outcomes) - len(kept))
    rows: list[dict[str, Any]] = []
    events: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
    reached: dict[str, Recipient] = {}
    for outcome in kept:
        message = outcome.message
        setattr(report, outcome.status, getattr(report, outcome.status) + 1)
        if outcome.invalid_tokens:
            invalidate_tokens(
                conn,
                workspace_id=message["workspace_id"],
                profile_id=message["profile_id"],
                tokens=list(outcome.invalid_tokens),
                now=now,
            )
        if outcome.suppress_recipient and outcome.recipient:
            channel = message["channel"]
            address = outcome.recipient
            suppress(
                conn,
                workspace_id=message["workspace_id"],
                channel=channel,
                address=normalise_email(address) if channel == "email" else address,
                reason="hard_bounce",
                now=now,
            )
        rows.append(_outbox_values(outcome, now))
        happened = _event_items(outcome)
        if happened:
            events.setdefault(message["workspace_id"], []).extend(happened)
        if outcome.reached is not None:
            reached[outcome.reached.profile_id] = outcome.reached
            _notify_owner(conn, message, outcome.reached, now)
    repository.finish_many(conn, rows)
    for workspace_id, items in events.items():
        emit_events(conn, workspace_id=workspace_id, items=items, now=now, recipients=reached)


def _still_claimed(conn: Connection, outcomes: Sequence[DeliveryOutcome]) -> list[DeliveryOutcome]:
    by_claim: dict[str, list[str]] = {}
    for outcome in outcomes:
        by_claim.setdefault(outcome.message["claim"], []).append(outcome.message["id"])
    held: set[str] = set()
    for claim_id, ids in by_claim.items():
        held |= repository.held(conn, ids=ids, claim_id=claim_id)
    return [o for o in outcomes if o.message["id"] in held]


def _outbox_values(outcome: DeliveryOutcome, now: datetime) -> dict[str, Any]:
    """The columns an outcome writes (``finish_many`` shape; one shape per kind of outcome,
    so a batch is written with a few statements)."""
    message = outcome.message
    values: dict[str, Any] = {
        "_id": message["id"],
        "_claim": message["claim"],
        "status": outcome.status,
        "error": outcome.error,
        "next_attempt_at": outcome.retry_at,
        "claim": None,
        "locked_until": None,
        "updated_at": now,
    }
    if outcome.status == "deferred":
        # waiting for quiet hours, caps or a rate limit is not a failed attempt
        used = message["attempts"] if outcome.attempt_used else message["attempts"] - 1
        values["attempts"] = used
        return values
    values["recipient"] = outcome.recipient
    if outcome.status in ("sent", "delivered"):
        # a replayed send (journeys backfill) was sent when it was made on the journey's clock
        sent_at = message.get("replayed_at") or now
        values["sent_at"] = sent_at
        values["delivered_at"] = sent_at if outcome.status == "delivered" else None
        values["cost"] = outcome.cost
        values["provider_message_id"] = outcome.provider_message_id
        values["provider"] = outcome.provider
    return values


def _event_items(outcome: DeliveryOutcome) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """The delivery events of an outcome: ``message.sent`` (and ``.delivered``), ``.failed``
    and ``.bounced``; a message held back (suppressed, capped, deferred) has none yet."""
    message = outcome.message
    stamp = {"_at": message["replayed_at"]} if message.get("replayed_at") else {}
    if outcome.status == "sent":
        return [("sent", message, {**dict(outcome.details), **stamp})]
    if outcome.status == "delivered":
        return [
            ("sent", message, {**dict(outcome.details), **stamp}),
            ("delivered", message, stamp),
        ]
    if outcome.status in ("failed", "bounced"):
        return [(outcome.status, message, {"error": outcome.error, **outcome.details})]
    return []


def _notify_owner(
    conn: Connection, message: dict[str, Any], reached: Recipient, now: datetime
) -> None:
    """Tell the account owner, once per journey and customer, that an automated journey
    touched their customer."""
    owner = reached.account_owner
    if (
        not owner
        or not message["journey_id"]
        or message["channel"] == "agent_task"
        or message["payload"].get("builtin")
    ):
        return
    journey_id, profile_id = message["journey_id"], message["profile_id"]
    name = reached.traits.get("name") or reached.email or profile_id
    enqueue(
        conn,
        request=SendRequest(
            idempotency_key=f"owner:{journey_id}:{profile_id}:{owner}",
            workspace_id=message["workspace_id"],
            profile_id=profile_id,
            channel="email",
            category="transactional",
            journey_id=journey_id,
            payload={
                "builtin": "owner_notice",
                "to": owner,
                "subject": f"partitur: journey {journey_id} contacted {name}",
                "text": (
                    f"An automated journey ({journey_id}) sent a "
                    f"{message['channel']} message to your customer {name} "
                    f"(profile {profile_id}).\n"
                ),
            },
        ),
        now=now,
    )
