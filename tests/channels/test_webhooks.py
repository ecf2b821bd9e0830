"""Webhooks: signed, retried with backoff, dead-lettered, and circuit-broken per endpoint."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from partitur.channels.delivery_rules import CircuitBreaker
from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from tests.channels.conftest import (
    HttpServer,
    Recorded,
    delivery_events,
    make_profile,
    message,
    provider,
    send,
)


def hook(
    ctx: Context, server: HttpServer, name: str = "crm", path: str = "/hook", **config: object
) -> None:
    provider(
        ctx,
        channel="webhook",
        name=name,
        kind="webhook",
        config={"url": server.url + path, "timeout": 2, **config},
        secrets={"signing_secret": "whsec-1"},
    )


def test_webhook_body_is_signed_with_hmac_sha256_and_carries_an_idempotency_key(
    ctx: Context, http_server: HttpServer, dispatcher: Dispatcher
) -> None:
    hook(ctx, http_server)
    pid = make_profile(ctx)
    mid = send(
        ctx,
        pid,
        "webhook",
        payload={"endpoint": "crm", "body": {"lead": "hot"}},
        journey_id="jrn_1",
    )
    dispatcher.run_once(ctx.clock.now())
    request = http_server.requests[-1]
    assert request.json()["data"] == {"lead": "hot"} and request.json()["journey_id"] == "jrn_1"
    stamp, mac = request.headers["x-partitur-signature"].split(",")
    expected = hmac.new(
        b"whsec-1", stamp.removeprefix("t=").encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert mac == f"v1={expected}"
    assert request.headers["idempotency-key"] == mid
    row = message(ctx, mid)
    assert row.status == "delivered" and row.delivered_at is not None
    assert ("message.delivered", mid) in delivery_events(ctx)


def test_transient_errors_are_retried_until_success_and_permanent_ones_are_not(
    ctx: Context, clock: VirtualClock, http_server: HttpServer, dispatcher: Dispatcher
) -> None:
    hook(ctx, http_server)
    hook(ctx, http_server, name="strict", path="/strict")
    answers = {"/hook": [503, 502, 200], "/strict": [400]}
    http_server.answer(
        lambda r: (
            answers[r.path].pop(0) if len(answers[r.path]) > 1 else answers[r.path][0],
            {"error": "<script>alert(1)</script> echoed input"},
        )
    )
    pid = make_profile(ctx)
    flaky = send(ctx, pid, "webhook", payload={"endpoint": "crm"})
    strict = send(ctx, pid, "webhook", payload={"endpoint": "strict"})
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, strict).status == "failed"
    # the status and its standard phrase are kept, not what the provider wrote
    assert message(ctx, strict).error == "webhook strict answered 400 Bad Request"
    assert message(ctx, flaky).status == "deferred"
    for _ in range(3):
        clock.advance(timedelta(minutes=5))
        dispatcher.run_once(ctx.clock.now())
    row = message(ctx, flaky)
    assert (row.status, row.attempts) == ("delivered", 3)
    assert [r.path for r in http_server.requests].count("/strict") == 1


def test_a_webhook_failing_n_times_is_dead_lettered(
    ctx: Context, clock: VirtualClock, http_server: HttpServer, dispatcher: Dispatcher
) -> None:
    hook(ctx, http_server, max_attempts=3)
    http_server.answer(lambda r: (500, {"error": "down"}))
    mid = send(ctx, make_profile(ctx), "webhook", payload={"endpoint": "crm"})
    for _ in range(6):
        dispatcher.run_once(ctx.clock.now())
        clock.advance(timedelta(hours=1))
    row = message(ctx, mid)
    assert row.status == "failed" and (row.error or "").startswith("dead letter after 3 attempts")
    assert len(http_server.requests) == 3
    assert ("message.failed", mid) in delivery_events(ctx)


def test_a_message_re_claimed_while_its_endpoint_hangs_is_recorded_once(
    ctx: Context, clock: VirtualClock, http_server: HttpServer
) -> None:
    """A sender whose lease ran out while the endpoint kept it waiting leaves the message to
    the dispatcher that re-claimed and delivered it: one outcome, one delivered event."""
    hook(ctx, http_server)
    release = threading.Event()

    def first_one_hangs(request: Recorded) -> tuple[int, dict[str, str]]:
        if len(http_server.requests) == 1:
            release.wait(10)
        return 200, {}

    http_server.answer(first_one_hangs)
    mid = send(ctx, make_profile(ctx), "webhook", payload={"endpoint": "crm"})
    slow = Dispatcher(ctx, threads=1, lease=timedelta(minutes=1))
    other = Dispatcher(ctx, threads=1)
    try:
        with ThreadPoolExecutor(1) as pool:
            hanging = pool.submit(slow.run_once, clock.now())
            deadline = time.monotonic() + 10
            while not http_server.requests and time.monotonic() < deadline:
                time.sleep(0.01)
            later = clock.now() + timedelta(minutes=2)
            assert other.recover(later) == 1
            assert other.run_once(later).delivered == 1
            release.set()
            assert hanging.result(timeout=10).delivered == 0
    finally:
        release.set()
        slow.close()
        other.close()
    row = message(ctx, mid)
    assert (row.status, row.attempts) == ("delivered", 2)
    assert delivery_events(ctx).count(("message.delivered", mid)) == 1


def test_the_circuit_opens_per_endpoint_and_defers_without_calling_it(
    ctx: Context, clock: VirtualClock, http_server: HttpServer
) -> None:
    hook(ctx, http_server, name="down", path="/down")
    hook(ctx, http_server, name="up", path="/up")
    http_server.answer(lambda r: (503, {}) if r.path == "/down" else (200, {}))
    dispatcher = Dispatcher(
        ctx, threads=2, breaker=CircuitBreaker(threshold=2, cooldown=timedelta(minutes=10))
    )
    try:
        pid = make_profile(ctx)
        for i in range(2):
            send(ctx, pid, "webhook", payload={"endpoint": "down", "n": i})
        dispatcher.run_once(ctx.clock.now())
        assert len(http_server.requests) == 2
        blocked = send(ctx, pid, "webhook", payload={"endpoint": "down"})
        fine = send(ctx, pid, "webhook", payload={"endpoint": "up"})
        dispatcher.run_once(ctx.clock.now())
        assert [r.path for r in http_server.requests[2:]] == ["/up"]
        row = message(ctx, blocked)
        assert (
            row.status == "deferred" and row.error == "circuit open for down" and row.attempts == 0
        )
        assert message(ctx, fine).status == "delivered"
    finally:
        dispatcher.close()


def test_provider_secrets_are_encrypted_at_rest_and_never_shown(
    ctx: Context, http_server: HttpServer
) -> None:
    from sqlalchemy import select

    from partitur.channels import service
    from partitur.channels.tables import channel_providers

    hook(ctx, http_server)
    with ctx.store.read() as conn:
        stored = conn.execute(select(channel_providers.c.secrets)).scalar()
        shown = service.list_providers(conn, workspace_id=ctx.workspace_id)
    assert stored and "whsec-1" not in stored
    assert shown[0].secret_names == ["signing_secret"]
    assert "whsec-1" not in shown[0].model_dump_json()


def test_a_journey_webhook_node_names_its_endpoint_by_template_and_sends_its_payload(
    ctx: Context, http_server: HttpServer, dispatcher: Dispatcher
) -> None:
    from partitur.channels import service
    from partitur.channels.contracts import TemplateIn

    with ctx.store.read() as conn:
        assert service.check_template(
            conn, workspace_id=ctx.workspace_id, key="crm-lead-cold", channel="webhook"
        ) == ["no webhook endpoint is configured (for 'crm-lead-cold')"]
    hook(ctx, http_server, name="crm-lead-cold", path="/cold")
    hook(ctx, http_server, name="default", path="/default")
    with ctx.store.begin() as conn:
        assert (
            service.check_template(
                conn, workspace_id=ctx.workspace_id, key="crm-lead-cold", channel="webhook"
            )
            == []
        )
        service.save_template(
            conn,
            workspace_id=ctx.workspace_id,
            template=TemplateIn(
                key="crm-lead-hot",
                channel="webhook",
                body_text='{"lead": "{{ profile.email }}", "score": {{ score }}}',
                sample_data={"score": 1},
            ),
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    pid = make_profile(ctx, email="jana@example.com")
    cold = send(
        ctx,
        pid,
        "webhook",
        template="crm-lead-cold",
        payload={"status": "no-application"},
        category="transactional",
    )
    hot = send(
        ctx, pid, "webhook", template="crm-lead-hot", data={"score": 87}, category="transactional"
    )
    dispatcher.run_once(ctx.clock.now())
    by_path = {r.path: r.json() for r in http_server.requests}
    assert by_path["/cold"]["data"] == {"status": "no-application"}
    assert by_path["/cold"]["template"] == "crm-lead-cold"
    assert by_path["/default"]["data"] == {"lead": "jana@example.com", "score": 87}
    assert message(ctx, cold).status == message(ctx, hot).status == "delivered"


def test_a_pass_overlaps_full_batches_and_records_every_one_of_them(
    ctx: Context, http_server: HttpServer
) -> None:
    hook(ctx, http_server)
    answers = iter([200, 200, 503, 200, 200, 200])
    http_server.answer(lambda r: (next(answers), {}))
    dispatcher = Dispatcher(ctx, threads=2, batch_size=2, max_batches=2)
    try:
        pid = make_profile(ctx)
        ids = [
            send(ctx, pid, "webhook", payload={"endpoint": "crm", "n": i}, category="transactional")
            for i in range(5)
        ]
        report = dispatcher.run_once(ctx.clock.now())
        # two full batches of two in one pass (the second claimed while the first was sent)
        assert (report.claimed, report.delivered, report.deferred) == (4, 3, 1)
        assert [message(ctx, m).status for m in ids].count("queued") == 1
        report = dispatcher.run_once(ctx.clock.now())
        assert (report.claimed, report.delivered) == (1, 1)  # a batch that is not full ends it
        assert {r.json()["data"]["n"] for r in http_server.requests} == set(range(5))
        assert len(delivery_events(ctx)) == 5 + 4 * 2  # queued, and sent + delivered
    finally:
        dispatcher.close()
