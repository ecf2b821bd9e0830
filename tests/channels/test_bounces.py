"""Bounces: RFC 3464 delivery status notifications arriving at the bounce mailbox (the real
aiosmtpd sink) or the DSN endpoint mark addresses undeliverable and emit message.bounced."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from partitur.channels import service
from partitur.channels.bounces import parse_dsn
from partitur.channels.dispatch import Dispatcher
from partitur.channels.smtp_sink import start_sink
from partitur.context import Context
from tests.channels.conftest import (
    MailSink,
    delivery_events,
    grant,
    make_profile,
    message,
    provider,
    send,
    set_policy,
)
from tests.support.postgres import free_port

BOUNCES = "bounces@acme.test"


def dsn(
    *,
    recipient: str,
    action: str,
    status: str,
    diagnostic: str,
    original_headers: str,
    boundary: str = "8A1F2C0B9E.1732364000/mx.example.com",
) -> bytes:
    """A bounce as Postfix writes it: human part, delivery-status, returned headers."""
    return (
        "Return-Path: <>\r\n"
        "Received: by mx.example.com (Postfix) id 8A1F2C0B9E; Mon, 23 Nov 2026 13:00:00 +0000\r\n"
        "Date: Mon, 23 Nov 2026 13:00:00 +0000 (UTC)\r\n"
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"To: {BOUNCES}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        f'\tboundary="{boundary}"\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "Message-Id: <20261123130000.8A1F2C0B9E@mx.example.com>\r\n"
        "\r\n"
        "This is a MIME-encapsulated message.\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "This is the mail system at host mx.example.com.\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n"
        "\r\n"
        f"<{recipient}>: host mail.example.com[203.0.113.7] said: {diagnostic}\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Delivery report\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n"
        "X-Postfix-Queue-ID: 8A1F2C0B9E\r\n"
        f"X-Postfix-Sender: rfc822; {BOUNCES}\r\n"
        "Arrival-Date: Mon, 23 Nov 2026 12:59:58 +0000 (UTC)\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Remote-MTA: dns; mail.example.com\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Undelivered Message Headers\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        f"{original_headers}"
        "\r\n"
        f"--{boundary}--\r\n"
    ).encode()


@pytest.fixture
def bounce_mailbox(ctx: Context) -> Iterator[tuple[str, int]]:
    port = free_port()
    controller: Controller = start_sink(ctx, host="127.0.0.1", port=port, bounce_address=BOUNCES)
    yield "127.0.0.1", port
    controller.stop()


def mail_bounce(mailbox: tuple[str, int], raw: bytes) -> None:
    """Deliver a bounce the way a mail server does: null sender, to the bounce address."""
    with smtplib.SMTP(*mailbox) as conn:
        conn.sendmail("", [BOUNCES], raw)


def original_headers(mail: EmailMessage) -> str:
    return "".join(f"{k}: {v}\r\n" for k, v in mail.items())


def sent_mail(
    ctx: Context, smtp_server: MailSink, dispatcher: Dispatcher, email: str
) -> tuple[str, EmailMessage]:
    provider(
        ctx,
        channel="email",
        name="smtp",
        kind="smtp",
        config={
            "host": smtp_server.host,
            "port": smtp_server.port,
            "from_address": "ACME <news@acme.test>",
            "bounce_address": BOUNCES,
        },
    )
    pid = make_profile(ctx, email=email, first_name="Jana")
    grant(ctx, pid, "email")
    mid = send(
        ctx,
        pid,
        "email",
        category="transactional",
        payload={"subject": "Your order", "text": "It ships today."},
    )
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, mid).status == "sent"
    return mid, smtp_server.last()


def suppressed(ctx: Context) -> list[tuple[str, str]]:
    with ctx.store.read() as conn:
        rows = service.list_suppressions(conn, workspace_id=ctx.workspace_id)
    return [(s.address, s.reason) for s in rows]


def wait_for(check: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_hard_bounce_mailed_to_the_bounce_mailbox_makes_the_address_undeliverable(
    ctx: Context,
    smtp_server: MailSink,
    dispatcher: Dispatcher,
    bounce_mailbox: tuple[str, int],
) -> None:
    mid, mail = sent_mail(ctx, smtp_server, dispatcher, "Jana.Gone@Example.com")
    assert smtp_server.envelopes[-1][0] == BOUNCES  # bounces come back to the bounce mailbox
    mail_bounce(
        bounce_mailbox,
        dsn(
            recipient="jana.gone@example.com",
            action="failed",
            status="5.1.1",
            diagnostic="550 5.1.1 <jana.gone@example.com>: Recipient address rejected",
            original_headers=original_headers(mail),
        ),
    )
    wait_for(lambda: message(ctx, mid).status == "bounced")
    row = message(ctx, mid)
    assert "5.1.1" in (row.error or "") and "Recipient address rejected" in (row.error or "")
    assert suppressed(ctx) == [("jana.gone@example.com", "hard_bounce")]
    assert ("message.bounced", mid) in delivery_events(ctx)

    # the next mail to the address is suppressed, not sent
    again = send(
        ctx,
        row.profile_id,
        "email",
        category="transactional",
        payload={"subject": "Again", "text": "x"},
    )
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, again).status == "suppressed"
    assert len(smtp_server.mails) == 1


def test_soft_bounces_are_counted_and_make_the_address_undeliverable_after_the_limit(
    ctx: Context,
    smtp_server: MailSink,
    dispatcher: Dispatcher,
    bounce_mailbox: tuple[str, int],
) -> None:
    set_policy(ctx, soft_bounce_limit=3)
    mid, mail = sent_mail(ctx, smtp_server, dispatcher, "full@example.com")
    for n in range(1, 4):
        mail_bounce(
            bounce_mailbox,
            dsn(
                recipient="full@example.com",
                action="failed" if n != 2 else "delayed",
                status="4.2.2",
                diagnostic="452 4.2.2 Mailbox full",
                original_headers=original_headers(mail),
                boundary=f"b{n}",
            ),
        )
        wait_for(lambda n=n: delivery_events(ctx).count(("message.bounced", mid)) == n)
        if n < 3:
            assert suppressed(ctx) == []
            assert message(ctx, mid).status == "sent"
    assert suppressed(ctx) == [("full@example.com", "soft_bounce_limit")]
    assert message(ctx, mid).status == "bounced"


def test_a_dsn_posted_to_the_api_is_recorded_and_garbage_is_a_problem(
    ctx: Context,
    client: TestClient,
    admin_headers: dict[str, str],
    smtp_server: MailSink,
    dispatcher: Dispatcher,
) -> None:
    mid, mail = sent_mail(ctx, smtp_server, dispatcher, "nobody@example.com")
    raw = dsn(
        recipient="nobody@example.com",
        action="failed",
        status="5.1.1",
        diagnostic="550 5.1.1 user unknown",
        original_headers=original_headers(mail),
    )
    answer = client.post(
        "/api/channels/bounces/dsn",
        content=raw,
        headers={**admin_headers, "content-type": "message/rfc822"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {
            "address": "nobody@example.com",
            "channel": "email",
            "kind": "hard",
            "status": "5.1.1",
            "message_id": mid,
            "soft_bounces": 0,
            "undeliverable": True,
        }
    ]
    assert message(ctx, mid).status == "bounced"
    bad = client.post(
        "/api/channels/bounces/dsn",
        content=b"Subject: hello\r\n\r\njust a mail\r\n",
        headers={**admin_headers, "content-type": "message/rfc822"},
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["field"] == "message" and "multipart/report" in bad.json()["detail"]


def test_delivered_and_relayed_blocks_are_not_bounces() -> None:
    raw = dsn(
        recipient="ok@example.com",
        action="failed",
        status="5.7.1",
        diagnostic="550 5.7.1 blocked by policy",
        original_headers="Message-ID: <msg_01ABC@partitur>\r\n",
    ).replace(b"Action: failed", b"Action: relayed")
    report = parse_dsn(raw)
    assert report.message_id == "msg_01ABC" and report.recipients == []
    hard = parse_dsn(raw.replace(b"Action: relayed", b"Action: failed"))
    assert [(r.address, r.kind, r.status) for r in hard.recipients] == [
        ("ok@example.com", "hard", "5.7.1")
    ]
    assert hard.reporting_mta == "mx.example.com"
