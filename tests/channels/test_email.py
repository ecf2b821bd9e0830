"""Email delivered to a real SMTP server (aiosmtpd on 127.0.0.1), read back and followed."""

from __future__ import annotations

import re
from email.message import EmailMessage

from fastapi.testclient import TestClient

from partitur.channels import service
from partitur.channels.contracts import TemplateIn
from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from tests.channels.conftest import (
    MailSink,
    delivery_events,
    grant,
    make_profile,
    message,
    provider,
    send,
)


def setup_email(ctx: Context, smtp: MailSink) -> None:
    provider(
        ctx,
        channel="email",
        name="local",
        kind="smtp",
        config={"host": smtp.host, "port": smtp.port, "from_address": "ACME <news@acme.test>"},
        cost="0.0010",
    )
    with ctx.store.begin() as conn:
        for t in (
            TemplateIn(
                key="welcome",
                channel="email",
                subject="Welcome {{ profile.first_name }}",
                body_text="Hello {{ profile.first_name }}, see {{ url }}",
                body_html='<p>Hello {{ profile.first_name }}, <a href="{{ url }}">offer</a></p>',
            ),
            TemplateIn(
                key="welcome",
                channel="email",
                locale="de",
                subject="Willkommen {{ profile.first_name }}",
                body_text="Hallo {{ profile.first_name }}",
            ),
        ):
            service.save_template(
                conn,
                workspace_id=ctx.workspace_id,
                template=t,
                now=ctx.clock.now(),
                actor=Actor.system(ctx.workspace_id, "test"),
            )


def bodies(mail: EmailMessage) -> tuple[str, str]:
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_email_arrives_as_multipart_with_one_click_unsubscribe_headers(
    ctx: Context, smtp_server: MailSink, dispatcher: Dispatcher
) -> None:
    setup_email(ctx, smtp_server)
    pid = make_profile(ctx, email="Jana@Example.com", first_name="Jana")
    grant(ctx, pid, "email")
    mid = send(
        ctx,
        pid,
        template="welcome",
        data={"url": "https://acme.test/offer?a=1"},
        journey_id="jrn_1",
        node_id="n1",
    )
    report = dispatcher.run_once(ctx.clock.now())
    assert report.sent == 1
    mail = smtp_server.last()
    assert smtp_server.envelopes[-1] == ("news@acme.test", ["jana@example.com"])
    assert mail["Subject"] == "Welcome Jana"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(
        r"<http://127\.0\.0\.1:8000/api/channels/u/[\w.\-]+>", mail["List-Unsubscribe"]
    )
    text, html = bodies(mail)
    assert text.strip() == "Hello Jana, see https://acme.test/offer?a=1"
    assert "/api/channels/t/c/" in html and "https://acme.test/offer" not in html
    assert "/api/channels/t/o/" in html
    row = message(ctx, mid)
    assert (row.status, row.recipient, str(row.cost)) == ("sent", "jana@example.com", "0.001000")
    assert ("message.queued", mid) in delivery_events(ctx)
    assert ("message.sent", mid) in delivery_events(ctx)


def test_the_profiles_locale_picks_the_german_variant(
    ctx: Context, smtp_server: MailSink, dispatcher: Dispatcher
) -> None:
    setup_email(ctx, smtp_server)
    pid = make_profile(ctx, locale="de-DE", email="max@example.com", first_name="Max")
    send(ctx, pid, template="welcome", category="transactional", data={"url": "x"})
    dispatcher.run_once(ctx.clock.now())
    assert smtp_server.last()["Subject"] == "Willkommen Max"


def test_unsubscribe_open_and_click_links_work_and_cannot_be_forged(
    ctx: Context, client: TestClient, smtp_server: MailSink, dispatcher: Dispatcher
) -> None:
    setup_email(ctx, smtp_server)
    pid = make_profile(ctx, email="jana@example.com", first_name="Jana")
    grant(ctx, pid, "email")
    mid = send(ctx, pid, template="welcome", data={"url": "https://acme.test/offer"})
    dispatcher.run_once(ctx.clock.now())
    _, html = bodies(smtp_server.last())
    base = "http://127.0.0.1:8000"
    pixel = re.search(r'src="([^"]+/t/o/[^"]+)"', html)
    link = re.search(r'href="([^"]+/t/c/[^"]+)"', html)
    assert pixel and link
    assert client.get(pixel.group(1).removeprefix(base)).headers["content-type"] == "image/gif"
    redirect = client.get(link.group(1).removeprefix(base), follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (302, "https://acme.test/offer")
    forged = link.group(1).removeprefix(base)[:-3] + "AAA"
    assert client.get(forged, follow_redirects=False).status_code == 400
    row = message(ctx, mid)
    assert row.opened_at is not None and row.clicked_at is not None
    names = [n for n, m in delivery_events(ctx) if m == mid]
    assert "message.opened" in names and "message.clicked" in names

    unsubscribe = smtp_server.last()["List-Unsubscribe"].strip("<>").removeprefix(base)
    done = client.post(
        unsubscribe,
        content="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "unsubscribed" in done.text
    again = send(ctx, pid, template="welcome", data={"url": "https://acme.test/offer"})
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, again).status == "suppressed"
    assert len(smtp_server.mails) == 1
    assert ("message.unsubscribed", mid) in delivery_events(ctx)


def test_a_hard_bounce_marks_the_address_undeliverable_and_the_batch_goes_on(
    ctx: Context, smtp_server: MailSink, dispatcher: Dispatcher
) -> None:
    setup_email(ctx, smtp_server)
    bad = make_profile(ctx, email="bounce@example.com", first_name="B")
    broken = make_profile(ctx, email="not-an-address", first_name="C")
    good = make_profile(ctx, email="ok@example.com", first_name="D")
    ids = [
        send(ctx, p, template="welcome", category="transactional", data={"url": "u"})
        for p in (bad, broken, good)
    ]
    dispatcher.run_once(ctx.clock.now())
    statuses = [message(ctx, i) for i in ids]
    assert [m.status for m in statuses] == ["bounced", "failed", "sent"]
    assert "550" in (statuses[0].error or "")
    assert "invalid email address 'not-an-address'" in (statuses[1].error or "")
    with ctx.store.read() as conn:
        assert [
            s.address for s in service.list_suppressions(conn, workspace_id=ctx.workspace_id)
        ] == ["bounce@example.com"]
    later = send(ctx, bad, template="welcome", category="transactional", data={"url": "u"})
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, later).status == "suppressed"
    assert len(smtp_server.mails) == 1


def test_a_template_that_does_not_render_fails_only_its_message(
    ctx: Context, smtp_server: MailSink, dispatcher: Dispatcher
) -> None:
    setup_email(ctx, smtp_server)
    pid = make_profile(ctx, email="a@example.com", first_name="A")
    broken = send(ctx, pid, template="welcome", category="transactional", data={})
    fine = send(ctx, pid, template="welcome", category="transactional", data={"url": "u"})
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, broken).status == "failed"
    assert "missing variable" in (message(ctx, broken).error or "") and "url" in (
        message(ctx, broken).error or ""
    )
    assert message(ctx, fine).status == "sent"


def test_enqueue_is_idempotent_and_nothing_is_sent_twice(
    ctx: Context, smtp_server: MailSink, dispatcher: Dispatcher
) -> None:
    setup_email(ctx, smtp_server)
    pid = make_profile(ctx, email="a@example.com", first_name="A")
    first = send(
        ctx,
        pid,
        idempotency_key="inst_1:n1:0",
        template="welcome",
        category="transactional",
        data={"url": "u"},
    )
    dispatcher.run_once(ctx.clock.now())
    with ctx.store.begin() as conn:
        from partitur.channels.contracts import SendRequest

        again = service.enqueue(
            conn,
            request=SendRequest(
                idempotency_key="inst_1:n1:0",
                workspace_id=ctx.workspace_id,
                profile_id=pid,
                channel="email",
                template="welcome",
            ),
            now=ctx.clock.now(),
        )
    assert (again.id, again.status, again.duplicate) == (first, "sent", True)
    dispatcher.run_once(ctx.clock.now())
    assert len(smtp_server.mails) == 1


def test_a_down_smtp_server_is_retried_with_backoff_then_dead_lettered(
    ctx: Context, clock: VirtualClock, dispatcher: Dispatcher
) -> None:
    from datetime import timedelta

    from tests.support.postgres import free_port

    provider(
        ctx,
        channel="email",
        name="down",
        kind="smtp",
        config={"host": "127.0.0.1", "port": free_port(), "timeout": 2},
    )
    pid = make_profile(ctx, email="a@example.com")
    mid = send(ctx, pid, category="transactional", payload={"subject": "s", "text": "t"})
    dispatcher.run_once(ctx.clock.now())
    first = message(ctx, mid)
    assert first.status == "deferred" and first.attempts == 1
    assert first.next_attempt_at is not None
    wait = first.next_attempt_at - ctx.clock.now()
    assert timedelta(seconds=15) <= wait <= timedelta(seconds=30)
    for _ in range(10):
        clock.advance(timedelta(hours=2))
        dispatcher.run_once(ctx.clock.now())
    final = message(ctx, mid)
    assert final.status == "failed" and final.attempts == 5
    assert (final.error or "").startswith("dead letter after 5 attempts")


def test_delivery_events_pass_ingestion_validation(
    ctx: Context, smtp_server: MailSink, dispatcher: Dispatcher
) -> None:
    from sqlalchemy import func, select

    from partitur.events.tables import events, quarantine

    setup_email(ctx, smtp_server)
    pid = make_profile(ctx, email="a@example.com", first_name="A", user_id="crm-7")
    mid = send(ctx, pid, template="welcome", category="transactional", data={"url": "u"})
    dispatcher.run_once(ctx.clock.now())
    with ctx.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(quarantine)).scalar() == 0
        rows = conn.execute(
            select(events.c.event, events.c.user_id, events.c.properties).order_by(events.c.seq)
        ).all()
    assert [r[0] for r in rows] == ["message.queued", "message.sent"]
    assert [r[1] for r in rows] == ["crm-7", "crm-7"]
    sent = rows[1]
    assert sent[2]["message_id"] == mid and sent[2]["template"] == "welcome"
