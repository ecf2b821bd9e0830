"""Consent, caps, quiet hours, send-time optimisation and rate limits, end to end through
the dispatcher (each test fails if its rule is taken away)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from partitur.channels import service
from partitur.channels.contracts import CapRule, TemplateIn
from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from tests.channels.conftest import (
    MailSink,
    make_profile,
    message,
    provider,
    send,
    set_policy,
)


def inbox_send(ctx: Context, pid: str, **fields: object) -> str:
    fields.setdefault("payload", {"subject": "News", "text": "hello"})
    return send(ctx, pid, "in_app", **fields)


def test_without_consent_marketing_is_suppressed_and_transactional_goes_out(
    ctx: Context, smtp_server: MailSink, dispatcher: Dispatcher
) -> None:
    provider(
        ctx,
        channel="email",
        name="l",
        kind="smtp",
        config={"host": smtp_server.host, "port": smtp_server.port},
    )
    pid = make_profile(ctx, email="a@example.com")
    promo = send(ctx, pid, payload={"subject": "Sale", "text": "x"})
    receipt = send(ctx, pid, payload={"subject": "Receipt", "text": "x"}, category="transactional")
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, promo).status == "suppressed"
    assert message(ctx, promo).error == "no email marketing consent"
    assert message(ctx, receipt).status == "sent"
    assert [m["Subject"] for m in smtp_server.mails] == ["Receipt"]


def test_frequency_caps_let_the_higher_priority_journey_win(
    ctx: Context, dispatcher: Dispatcher
) -> None:
    set_policy(ctx, caps=[CapRule(limit=1, window_hours=24)])
    pid = make_profile(ctx)
    low = inbox_send(ctx, pid, priority=1, journey_id="jrn_low")
    high = inbox_send(ctx, pid, priority=5, journey_id="jrn_high")
    receipt = inbox_send(ctx, pid, category="transactional")
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, high).status == "delivered"
    assert message(ctx, low).status == "capped"
    assert message(ctx, receipt).status == "delivered"
    later = inbox_send(ctx, pid, priority=9)
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, later).status == "capped"


def test_caps_roll_over_after_the_window(
    ctx: Context, clock: VirtualClock, dispatcher: Dispatcher
) -> None:
    set_policy(ctx, caps=[CapRule(channel="in_app", limit=1, window_hours=24)])
    pid = make_profile(ctx)
    inbox_send(ctx, pid)
    dispatcher.run_once(ctx.clock.now())
    clock.advance(timedelta(hours=24, minutes=1))
    nxt = inbox_send(ctx, pid)
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, nxt).status == "delivered"


def test_quiet_hours_defer_until_the_profiles_morning_then_send(
    ctx: Context, clock: VirtualClock, dispatcher: Dispatcher
) -> None:
    set_policy(ctx, quiet_channels=["in_app"])
    clock.set(datetime(2026, 1, 5, 21, 30, tzinfo=UTC))  # 22:30 Berlin, 16:30 New York
    berlin = make_profile(ctx, timezone="Europe/Berlin")
    new_york = make_profile(ctx, timezone="America/New_York")
    late = inbox_send(ctx, berlin)
    fine = inbox_send(ctx, new_york)
    dispatcher.run_once(ctx.clock.now())
    row = message(ctx, late)
    assert row.status == "deferred" and row.next_attempt_at == datetime(
        2026, 1, 6, 7, 0, tzinfo=UTC
    )
    assert row.error == "quiet hours until 08:00 local" and row.attempts == 0
    assert message(ctx, fine).status == "delivered"
    clock.set(datetime(2026, 1, 6, 6, 59, tzinfo=UTC))
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, late).status == "deferred"
    clock.set(datetime(2026, 1, 6, 7, 0, tzinfo=UTC))
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, late).status == "delivered"


def test_send_time_optimisation_waits_for_the_learned_hour(
    ctx: Context, clock: VirtualClock, dispatcher: Dispatcher, client: TestClient
) -> None:
    set_policy(ctx, quiet_start=None, quiet_end=None, sto_min_events=2)
    pid = make_profile(ctx, timezone="Europe/Berlin")
    from partitur.channels.signing import sign

    for day in (1, 2):  # opened at 19:xx Berlin twice
        mid = inbox_send(ctx, pid, category="transactional")
        dispatcher.run_once(ctx.clock.now())
        clock.set(datetime(2026, 1, 5 + day, 18, 10, tzinfo=UTC))
        client.get(f"/api/channels/t/o/{sign(ctx.settings.secret_key, 'open', {'m': mid})}.gif")
    clock.set(datetime(2026, 1, 8, 9, 0, tzinfo=UTC))
    promo = inbox_send(ctx, pid, payload={"text": "x", "send_time": "optimal"})
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, promo).next_attempt_at == datetime(2026, 1, 8, 18, 0, tzinfo=UTC)
    clock.set(datetime(2026, 1, 8, 18, 0, tzinfo=UTC))
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, promo).status == "delivered"


def test_a_provider_rate_limit_defers_the_excess(
    ctx: Context, smtp_server: MailSink, dispatcher: Dispatcher, clock: VirtualClock
) -> None:
    provider(
        ctx,
        channel="email",
        name="slow",
        kind="smtp",
        rate_per_second=2,
        config={"host": smtp_server.host, "port": smtp_server.port},
    )
    ids = [
        send(
            ctx,
            make_profile(ctx, email=f"p{i}@example.com"),
            category="transactional",
            payload={"subject": "s", "text": "t"},
        )
        for i in range(5)
    ]
    dispatcher.run_once(ctx.clock.now())
    assert sorted(message(ctx, i).status for i in ids) == ["deferred"] * 3 + ["sent"] * 2
    clock.advance(timedelta(seconds=2))
    dispatcher.run_once(ctx.clock.now())
    assert len(smtp_server.mails) == 4


def test_double_opt_in_sends_a_confirmation_and_grants_on_the_link(
    ctx: Context,
    client: TestClient,
    admin_headers: dict[str, str],
    smtp_server: MailSink,
    dispatcher: Dispatcher,
) -> None:
    provider(
        ctx,
        channel="email",
        name="l",
        kind="smtp",
        config={"host": smtp_server.host, "port": smtp_server.port},
    )
    made = client.post(
        "/api/channels/groups",
        json={"key": "newsletter", "name": "Newsletter", "channel": "email", "double_opt_in": True},
        headers=admin_headers,
    )
    assert made.status_code == 201
    pid = make_profile(ctx, email="jana@example.com")
    state = client.post(
        "/api/channels/consents",
        json={
            "profile_id": pid,
            "channel": "email",
            "group": "newsletter",
            "status": "granted",
            "source": "signup form",
        },
        headers=admin_headers,
    ).json()
    assert state["status"] == "pending"
    promo = send(ctx, pid, payload={"subject": "News", "text": "x", "group": "newsletter"})
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, promo).status == "suppressed"
    confirm = smtp_server.last()
    assert confirm["To"] == "jana@example.com"
    link = next(line for line in confirm.get_content().splitlines() if "/confirm/" in line)
    assert client.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 200
    again = send(ctx, pid, payload={"subject": "News", "text": "x", "group": "newsletter"})
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, again).status == "sent"
    ledger = client.get(f"/api/channels/consents/{pid}", headers=admin_headers).json()["ledger"]
    assert [(e["action"], e["source"]) for e in ledger] == [
        ("requested", "signup form"),
        ("confirmed", "double-opt-in link"),
    ]


def test_check_template_reports_problems_at_publish_time(ctx: Context) -> None:
    pid = make_profile(ctx, first_name="Jana")
    with ctx.store.begin() as conn:
        service.save_template(
            conn,
            workspace_id=ctx.workspace_id,
            template=TemplateIn(
                key="promo",
                channel="email",
                subject="Hi {{ profile.first_name }}",
                body_text="{{ offer }}",
                sample_profile_id=pid,
            ),
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
        problems = service.check_template(
            conn, workspace_id=ctx.workspace_id, key="promo", channel="email"
        )
        assert problems == ["[en] promo (body_text): missing variable: 'offer' is undefined"]
        assert service.check_template(
            conn, workspace_id=ctx.workspace_id, key="missing", channel="email"
        ) == ["template 'missing' does not exist"]
        service.save_template(
            conn,
            workspace_id=ctx.workspace_id,
            template=TemplateIn(
                key="promo",
                channel="email",
                subject="Hi {{ profile.first_name }}",
                body_text="{{ offer }}",
                sample_profile_id=pid,
                sample_data={"offer": "10%"},
            ),
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
        assert (
            service.check_template(
                conn, workspace_id=ctx.workspace_id, key="promo", channel="email"
            )
            == []
        )
        preview = service.preview_template(
            conn, workspace_id=ctx.workspace_id, key="promo", profile_id=pid, data={"offer": "20%"}
        )
        assert (preview.subject, preview.text) == ("Hi Jana", "20%")
        assert service.known_channels() == {
            "email",
            "sms",
            "push",
            "in_app",
            "webhook",
            "agent_task",
        }


def test_a_template_with_a_syntax_error_is_refused_naming_the_field(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    bad = client.put(
        "/api/channels/templates", json={"key": "x", "body_text": "{% if %}"}, headers=admin_headers
    )
    assert bad.status_code == 422 and bad.json()["field"] == "body_text"


def test_a_worker_killed_mid_send_leaves_the_message_to_be_retried(
    ctx: Context, clock: VirtualClock, dispatcher: Dispatcher
) -> None:
    from partitur.channels import repository

    pid = make_profile(ctx)
    mid = inbox_send(ctx, pid, category="transactional")
    with ctx.store.begin() as conn:  # claimed by a worker that then dies
        repository.claim_due(
            conn,
            limit=10,
            claim_id="clm_dead",
            now=clock.now(),
            until=clock.now() + timedelta(minutes=5),
        )
    assert dispatcher.run_once(clock.now()).claimed == 0
    assert dispatcher.recover(clock.now()) == 0
    clock.advance(timedelta(minutes=6))
    assert dispatcher.recover(clock.now()) == 1
    dispatcher.run_once(clock.now())
    assert message(ctx, mid).status == "delivered"
    dispatcher.run_once(clock.now())
    with ctx.store.read() as conn:
        items = service.list_inbox(conn, workspace_id=ctx.workspace_id, profile_id=pid)
    assert len(items) == 1


def test_opt_in_traits_on_the_profile_count_unless_the_ledger_says_otherwise(
    ctx: Context, smtp_server: MailSink, dispatcher: Dispatcher
) -> None:
    from partitur.channels.contracts import ConsentChange

    provider(
        ctx,
        channel="email",
        name="l",
        kind="smtp",
        config={"host": smtp_server.host, "port": smtp_server.port},
    )
    opted_in = make_profile(ctx, email="in@example.com", email_opt_in=True)
    opted_out = make_profile(ctx, email="out@example.com", email_opt_in=False)
    overruled = make_profile(ctx, email="over@example.com", email_opt_in=True)
    with ctx.store.begin() as conn:
        service.set_consent(
            conn,
            workspace_id=ctx.workspace_id,
            change=ConsentChange(profile_id=overruled, channel="email", status="revoked"),
            now=ctx.clock.now(),
            secret_key=ctx.settings.secret_key,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    ids = [
        send(ctx, p, payload={"subject": "News", "text": "x"})
        for p in (opted_in, opted_out, overruled)
    ]
    dispatcher.run_once(ctx.clock.now())
    assert [message(ctx, i).status for i in ids] == ["sent", "suppressed", "suppressed"]
    assert [m["To"] for m in smtp_server.mails] == ["in@example.com"]
