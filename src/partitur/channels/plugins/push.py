"""Push in the style of FCM HTTP v1: ``POST {base_url}/v1/projects/{project}/messages:send``
per device token; tokens the provider reports unregistered are removed from the profile."""

from __future__ import annotations

from typing import Any

import httpx

from partitur.channels.base import (
    Channel,
    DeliveryContext,
    DeliveryResult,
    InvalidAddress,
    OutboundMessage,
)
from partitur.channels.plugins.http import TRANSIENT, json_body, make_client
from partitur.channels.recipients import Recipient

INVALID_TOKEN_CODES = {"UNREGISTERED", "INVALID_ARGUMENT", "NOT_FOUND"}


class FcmPush(Channel):
    """Config: base_url (default https://fcm.googleapis.com), project_id.
    Secrets: access_token (an OAuth 2 bearer token)."""

    kind = "fcm"
    channel = "push"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = make_client(self.config)

    def address(self, recipient: Recipient, payload: dict[str, Any]) -> str | None:
        tokens = payload.get("tokens") or recipient.push_tokens
        if not tokens:
            raise InvalidAddress("profile has no push device token")
        return ",".join(str(t) for t in tokens)

    def send(self, message: OutboundMessage, context: DeliveryContext) -> DeliveryResult:
        base = str(self.config.get("base_url", "https://fcm.googleapis.com")).rstrip("/")
        url = f"{base}/v1/projects/{self.config.get('project_id', '')}/messages:send"
        rendered = message.rendered
        headers = {"Authorization": f"Bearer {self.secrets.get('access_token', '')}"}
        invalid: list[str] = []
        sent: list[str] = []
        transient: list[str] = []
        for token in (message.to or "").split(","):
            body = {
                "message": {
                    "token": token,
                    "notification": {
                        "title": rendered.subject if rendered else None,
                        "body": rendered.text.strip() if rendered else "",
                    },
                    "data": {
                        "message_id": message.id,
                        **{
                            str(k): str(v)
                            for k, v in dict(message.payload.get("data") or {}).items()
                        },
                    },
                }
            }
            try:
                response = self.client.post(url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                transient.append(f"{type(exc).__name__}: {exc}")
                continue
            try:
                answer = json_body(response, "push provider")
            except ValueError as exc:
                if response.status_code in TRANSIENT:
                    transient.append(f"push provider answered {response.status_code}")
                    continue
                return DeliveryResult.failed(f"push provider answered garbage: {exc}")
            if response.status_code < 300 and "name" in answer:
                sent.append(str(answer["name"]))
            elif _error_status(answer) in INVALID_TOKEN_CODES:
                invalid.append(token)
            elif response.status_code in TRANSIENT:
                transient.append(f"push provider answered {response.status_code}")
            else:
                return DeliveryResult(
                    "failed",
                    error=f"push provider answered {response.status_code}: {answer}",
                    invalid_tokens=invalid,
                )
        if sent:
            return DeliveryResult(
                "sent", provider_message_id=",".join(sent), invalid_tokens=invalid
            )
        if transient:
            return DeliveryResult("retry", error="; ".join(transient), invalid_tokens=invalid)
        return DeliveryResult(
            "failed", error="every device token is invalid", invalid_tokens=invalid
        )

    def close(self) -> None:
        self.client.close()


def _error_status(answer: dict[str, Any]) -> str | None:
    error = answer.get("error")
    if not isinstance(error, dict):
        return None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    status = error.get("status")
    return str(status) if status else None
