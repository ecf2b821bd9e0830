"""Reading bounce messages: RFC 3464 delivery status notifications (``multipart/report;
report-type=delivery-status``), as mail servers send them back to the envelope sender.

Pure: bytes in, a ``DsnReport`` out; no I/O. The service records what it finds.

Classification of each recipient block (RFC 3464 section 2.3, RFC 3463 status codes):
``Action: failed`` with a ``5.x.x`` status (or none) is a **hard** bounce, ``Action: failed``
with ``4.x.x`` and ``Action: delayed`` are **soft**; ``delivered``, ``relayed`` and
``expanded`` are not bounces and are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, message_from_string
from email.message import Message
from email.policy import compat32
from typing import Literal

#: the outbox message id partitur writes into every mail (header and Message-ID)
_OUR_ID = re.compile(r"<?(msg_[0-9A-Za-z]+)@partitur>?")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


class NotADsn(ValueError):
    """The bytes are not a delivery status notification."""


@dataclass(frozen=True)
class BouncedRecipient:
    address: str
    action: str
    kind: Literal["hard", "soft"]
    #: the enhanced status code, e.g. "5.1.1" (None when the report gave none)
    status: str | None
    #: what the remote server said (``Diagnostic-Code``), or the status when it said nothing
    reason: str


@dataclass(frozen=True)
class DsnReport:
    #: the partitur outbox message the bounce is about, when the report quotes it
    message_id: str | None
    reporting_mta: str | None
    recipients: list[BouncedRecipient] = field(default_factory=list)


def _field(block: Message, name: str) -> str | None:
    value = block.get(name)
    if value is None:
        return None
    return " ".join(str(value).split())


def _address(value: str | None) -> str | None:
    """``rfc822; jana@example.com`` -> ``jana@example.com``."""
    if not value:
        return None
    _, _, address = value.partition(";")
    address = (address or value).strip().strip("<>").strip()
    return address or None


def _original_id(report: Message) -> str | None:
    """The partitur message id in the returned message or its headers, if any."""
    for part in report.walk():
        content_type = part.get_content_type()
        headers: Message | None = None
        if content_type == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                headers = payload[0]
        elif content_type == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            headers = message_from_string(text, policy=compat32)
        if headers is None:
            continue
        for name in ("X-Partitur-Message-Id", "Message-ID"):
            value = headers.get(name)
            match = _OUR_ID.search(str(value)) if value else None
            if match:
                return match.group(1)
    return None


def classify(action: str, status: str | None) -> Literal["hard", "soft"] | None:
    """The bounce kind of one recipient block, or None when it is not a bounce."""
    action = action.lower()
    if action == "delayed":
        return "soft"
    if action != "failed":
        return None
    return "soft" if status is not None and status.startswith("4") else "hard"


def parse_dsn(raw: bytes) -> DsnReport:
    """Read a DSN; raises ``NotADsn`` when ``raw`` is not ``multipart/report`` with a
    ``message/delivery-status`` part naming at least one recipient."""
    report = message_from_bytes(raw, policy=compat32)
    if report.get_content_type() != "multipart/report":
        raise NotADsn(f"a bounce must be multipart/report, not {report.get_content_type()}")
    status_part = next(
        (p for p in report.walk() if p.get_content_type() == "message/delivery-status"), None
    )
    if status_part is None:
        raise NotADsn("the report has no message/delivery-status part")
    blocks = status_part.get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        raise NotADsn("the delivery-status part names no recipient")
    per_message, per_recipient = blocks[0], blocks[1:]
    if not isinstance(per_message, Message):
        raise NotADsn("the delivery-status part has no per-message fields")
    recipients: list[BouncedRecipient] = []
    for block in per_recipient:
        if not isinstance(block, Message):
            continue
        address = _address(_field(block, "Final-Recipient")) or _address(
            _field(block, "Original-Recipient")
        )
        action = _field(block, "Action")
        if not address or not action:
            raise NotADsn("a recipient block needs Final-Recipient and Action")
        raw_status = _field(block, "Status")
        match = _STATUS.search(raw_status or "")
        status = ".".join(match.groups()) if match else None
        kind = classify(action, status)
        if kind is None:
            continue
        diagnostic = _field(block, "Diagnostic-Code")
        if diagnostic and ";" in diagnostic:
            diagnostic = diagnostic.split(";", 1)[1].strip()
        reason = diagnostic or f"{action} {status or ''}".strip()
        recipients.append(BouncedRecipient(address, action.lower(), kind, status, reason))
    if not per_recipient:
        raise NotADsn("the delivery-status part names no recipient")
    return DsnReport(
        message_id=_original_id(report),
        reporting_mta=_address(_field(per_message, "Reporting-MTA")),
        recipients=recipients,
    )
