"""Webhooks: JSON POST signed with HMAC-SHA256, bounded by a timeout; retries, dead letters and
the per-endpoint circuit breaker are the dispatcher's (see ``decisions``)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from partitur.channels.base import (
    Channel,
    DeliveryContext,
    DeliveryResult,
    InvalidAddress,
    OutboundMessage,
)
from partitur.channels.plugins.http import (
    ProviderClient,
    TransportError,
    answer_failure,
    request_target,
)
from partitur.channels.recipients import Recipient
from partitur.core import jsonutil

SIGNATURE_HEADER = "X-Partitur-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`` (receivers recompute and compare)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def webhook_body(message: OutboundMessage) -> Any:
    """What the endpoint gets as ``data``: ``payload.body`` if given; else the rendered template
    (parsed when it is JSON) merged with the payload; else the payload itself."""
    payload = {k: v for k, v in message.payload.items() if k != "endpoint"}
    if "body" in payload:
        return payload["body"]
    if message.rendered is not None:
        text = message.rendered.text.strip()
        try:
            parsed = jsonutil.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return {**payload, **parsed}
        return {**payload, "text": text}
    return payload or message.data


class Webhook(Channel):
    """Config: url, timeout (seconds, default 10), verify_tls (default true), max_attempts
    (default from the policy). Secrets: signing_secret."""

    kind = "webhook"
    channel = "webhook"
    needs_template = False
    audience = "internal"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = str(self.config.get("url", ""))
        try:
            request_target(self.url)
        except ValueError as exc:
            raise ValueError(f"webhook {self.name!r} needs an http(s) url") from exc
        self.client = ProviderClient(self.config)

    def address(self, recipient: Recipient, payload: dict[str, Any]) -> str | None:
        if not self.url:
            raise InvalidAddress(f"webhook {self.name!r} has no url")
        return self.name

    def send(self, message: OutboundMessage, context: DeliveryContext) -> DeliveryResult:
        document = {
            "message_id": message.id,
            "profile_id": message.profile_id,
            "journey_id": message.journey_id,
            "node_id": message.node_id,
            "template": message.template,
            "data": webhook_body(message),
        }
        body = jsonutil.dumps(document)
        timestamp = int(context.now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.id,
            "User-Agent": "partitur-webhooks",
        }
        secret = self.secrets.get("signing_secret")
        if secret:
            headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
        try:
            answer = self.client.post(self.url, body=body, headers=headers)
        except TransportError as exc:
            return DeliveryResult.retry(f"webhook {self.name}: {exc}")
        if answer.status >= 300:
            return answer_failure(answer, f"webhook {self.name}")
        return DeliveryResult("delivered", details={"status": answer.status})

    def close(self) -> None:
        self.client.close()
