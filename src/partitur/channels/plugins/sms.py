"""SMS: a Twilio-compatible adapter and a generic HTTP adapter; GSM-7/UCS-2 segment counting."""

from __future__ import annotations

import re
from decimal import Decimal
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
    json_body,
    transport_failure,
)
from partitur.channels.recipients import Recipient

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def sms_segments(text: str) -> tuple[str, int]:
    """The encoding (``GSM-7`` or ``UCS-2``) and number of segments of an SMS text.

    GSM-7: 160 septets in one segment, 153 per segment when concatenated; extension characters
    (``€[]{}^~|\\``) take two septets and never split across segments. UCS-2: 70 UTF-16 code
    units, 67 per segment when concatenated (a surrogate pair never splits).
    """
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text):
        units = [2 if ch in GSM7_EXTENDED else 1 for ch in text]
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, multi, encoding = 70, 67, "UCS-2"
    total = sum(units)
    if total <= single:
        return encoding, 1 if total else 0
    segments, used = 1, 0
    for size in units:
        if used + size > multi:
            segments += 1
            used = 0
        used += size
    return encoding, segments


def normalise_phone(value: str) -> str:
    """E.164 form (``+4915112345678``); raises ``InvalidAddress`` otherwise."""
    text = re.sub(r"[\s\-().]", "", value.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _E164.match(text):
        raise InvalidAddress(
            f"invalid phone number {value!r} (E.164 expected, e.g. +4915112345678)"
        )
    return text


class _SmsBase(Channel):
    channel = "sms"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = ProviderClient(self.config)
        self.sender = str(self.config.get("from", "partitur"))
        self.cost_per_segment = Decimal(str(self.config.get("cost_per_segment", "0")))

    def address(self, recipient: Recipient, payload: dict[str, Any]) -> str | None:
        value = payload.get("to") or recipient.phone
        if not value:
            raise InvalidAddress("profile has no phone number")
        return normalise_phone(str(value))

    def text(self, message: OutboundMessage) -> str:
        return message.rendered.text.strip() if message.rendered else ""

    def close(self) -> None:
        self.client.close()


class TwilioSms(_SmsBase):
    """Config: base_url (default https://api.twilio.com), account_sid, from.
    Secrets: auth_token. Sends ``I-Twilio-Idempotency-Token`` so a retry never sends twice."""

    kind = "twilio"

    def send(self, message: OutboundMessage, context: DeliveryContext) -> DeliveryResult:
        text = self.text(message)
        encoding, segments = sms_segments(text)
        sid = str(self.config.get("account_sid", ""))
        base = str(self.config.get("base_url", "https://api.twilio.com")).rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{sid}/Messages.json"
        try:
            response = self.client.post(
                url,
                form={"To": message.to or "", "From": self.sender, "Body": text},
                auth=(sid, self.secrets.get("auth_token", "")),
                headers={"I-Twilio-Idempotency-Token": message.idempotency_key},
            )
        except TransportError as exc:
            return transport_failure(exc, "twilio")
        if response.status >= 300:
            return answer_failure(response, "twilio")
        try:
            body = json_body(response, "twilio")
            provider_id = str(body["sid"])
        except (ValueError, KeyError) as exc:
            return DeliveryResult.failed(f"twilio answered garbage: {exc}")
        return DeliveryResult(
            "sent",
            provider_message_id=provider_id,
            cost=self.cost_per_segment * segments if self.cost_per_segment else None,
            details={"encoding": encoding, "segments": segments},
        )


class HttpSms(_SmsBase):
    """A generic JSON-over-HTTP SMS gateway. Config: url, to_field (default "to"),
    from_field ("from"), text_field ("text"), id_field ("id"), headers. Secrets: api_key
    (sent as ``Authorization: Bearer``)."""

    kind = "http_sms"

    def send(self, message: OutboundMessage, context: DeliveryContext) -> DeliveryResult:
        text = self.text(message)
        encoding, segments = sms_segments(text)
        cfg = self.config
        body = {
            str(cfg.get("to_field", "to")): message.to,
            str(cfg.get("from_field", "from")): self.sender,
            str(cfg.get("text_field", "text")): text,
        }
        headers = {str(k): str(v) for k, v in dict(cfg.get("headers") or {}).items()}
        headers["Idempotency-Key"] = message.idempotency_key
        if self.secrets.get("api_key"):
            headers["Authorization"] = f"Bearer {self.secrets['api_key']}"
        try:
            response = self.client.post(str(cfg.get("url", "")), json=body, headers=headers)
        except TransportError as exc:
            return transport_failure(exc, "sms gateway")
        if response.status >= 300:
            return answer_failure(response, "sms gateway")
        try:
            answer = json_body(response, "sms gateway")
            provider_id = str(answer[str(cfg.get("id_field", "id"))])
        except (ValueError, KeyError) as exc:
            return DeliveryResult.failed(f"sms gateway answered garbage: {exc}")
        return DeliveryResult(
            "sent",
            provider_message_id=provider_id,
            cost=self.cost_per_segment * segments if self.cost_per_segment else None,
            details={"encoding": encoding, "segments": segments},
        )
