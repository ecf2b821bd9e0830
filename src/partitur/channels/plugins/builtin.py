"""Channels delivered inside partitur itself: the in-app inbox and agent hand-off tasks."""

from __future__ import annotations

from typing import Any

from partitur.channels import repository
from partitur.channels.base import Channel, DeliveryContext, DeliveryResult, OutboundMessage
from partitur.channels.recipients import Recipient
from partitur.core.ids import new_id


class InAppInbox(Channel):
    """Writes an inbox item; the app lists it (or receives it over server-sent events)."""

    kind = "in_app"
    channel = "in_app"

    def address(self, recipient: Recipient, payload: dict[str, Any]) -> str | None:
        return recipient.profile_id

    def send(self, message: OutboundMessage, context: DeliveryContext) -> DeliveryResult:
        rendered = message.rendered
        with context.store.begin() as conn:
            item_id = repository.add_inbox_item(
                conn,
                item_id=new_id("inb"),
                workspace_id=message.workspace_id,
                profile_id=message.profile_id,
                message_id=message.id,
                title=rendered.subject if rendered else None,
                body=(rendered.html or rendered.text) if rendered else "",
                data=dict(message.payload.get("data") or {}),
                now=context.now,
            )
        return DeliveryResult("delivered", provider_message_id=item_id)


class AgentHandoff(Channel):
    """Creates a task for a human (sales, support) with the customer's full context.

    Payload: reason, priority, queue, suggested_offer.
    """

    kind = "agent_task"
    channel = "agent_task"
    needs_template = False
    audience = "internal"

    def address(self, recipient: Recipient, payload: dict[str, Any]) -> str | None:
        return str(payload.get("queue", "default"))

    def send(self, message: OutboundMessage, context: DeliveryContext) -> DeliveryResult:
        payload = message.payload
        rendered = message.rendered
        task_context = {
            "brief": rendered.text.strip() if rendered else None,
            "profile": message.recipient.summary(),
            "journey": {"journey_id": message.journey_id, "node_id": message.node_id},
            "data": message.data,
        }
        with context.store.begin() as conn:
            task_id = repository.add_agent_task(
                conn,
                task_id=new_id("tsk"),
                workspace_id=message.workspace_id,
                message_id=message.id,
                profile_id=message.profile_id,
                journey_id=message.journey_id,
                queue=str(payload.get("queue", "default")),
                reason=str(
                    payload.get("reason")
                    or (rendered.subject if rendered and rendered.subject else None)
                    or f"journey hand-off ({message.template or 'no template'})"
                ),
                priority=int(payload.get("priority", message.priority) or 0),
                suggested_offer=payload.get("suggested_offer"),
                context=task_context,
                now=context.now,
            )
        return DeliveryResult("delivered", provider_message_id=task_id)
