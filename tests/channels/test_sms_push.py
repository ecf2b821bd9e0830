"""SMS (Twilio-compatible and generic HTTP) and push (FCM v1 style) against a real local server."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

from fastapi.testclient import TestClient

from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from tests.channels.conftest import (
    HttpServer,
    Recorded,
    grant,
    make_profile,
    message,
    provider,
    send,
)


def twilio(ctx: Context, server: HttpServer) -> None:
    provider(
        ctx,
        channel="sms",
        name="twilio",
        kind="twilio",
        config={
            "base_url": server.url,
            "account_sid": "AC123",
            "from": "+15550001111",
            "cost_per_segment": "0.05",
        },
        secrets={"auth_token": "tw-secret"},
    )


def test_twilio_gets_form_data_basic_auth_and_an_idempotency_token(
    ctx: Context, http_server: HttpServer, dispatcher: Dispatcher
) -> None:
    twilio(ctx, http_server)
    http_server.answer(lambda r: (201, {"sid": "SM42", "status": "queued"}))
    pid = make_profile(ctx, phone="+49 151 1234 5678")
    grant(ctx, pid, "sms")
    mid = send(ctx, pid, "sms", idempotency_key="i1:n1:0", payload={"text": "Grüße! " + "x" * 200})
    dispatcher.run_once(ctx.clock.now())
    request = http_server.requests[-1]
    assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
    form = parse_qs(request.body.decode())
    assert form["To"] == ["+4915112345678"] and form["From"] == ["+15550001111"]
    assert (
        request.headers["authorization"] == "Basic " + base64.b64encode(b"AC123:tw-secret").decode()
    )
    assert request.headers["i-twilio-idempotency-token"] == "i1:n1:0"
    row = message(ctx, mid)
    assert (row.status, row.provider_message_id, str(row.cost)) == ("sent", "SM42", "0.100000")


def test_a_provider_answering_garbage_fails_that_message_without_retrying(
    ctx: Context, http_server: HttpServer, dispatcher: Dispatcher
) -> None:
    twilio(ctx, http_server)
    http_server.answer(lambda r: (200, b"<html>oops</html>"))
    pid = make_profile(ctx, phone="+4915112345678")
    grant(ctx, pid, "sms")
    bad_phone = make_profile(ctx, phone="12")
    grant(ctx, bad_phone, "sms")
    mid = send(ctx, pid, "sms", payload={"text": "hi"})
    other = send(ctx, bad_phone, "sms", payload={"text": "hi"})
    dispatcher.run_once(ctx.clock.now())
    row = message(ctx, mid)
    assert (
        row.status == "failed"
        and "garbage" in (row.error or "")
        and "not JSON" in (row.error or "")
    )
    assert "invalid phone number '12'" in (message(ctx, other).error or "")
    assert len(http_server.requests) == 1


def test_generic_http_sms_gateway_posts_json_with_configured_fields(
    ctx: Context, http_server: HttpServer, dispatcher: Dispatcher
) -> None:
    provider(
        ctx,
        channel="sms",
        name="gateway",
        kind="http_sms",
        config={
            "url": http_server.url + "/send",
            "to_field": "msisdn",
            "text_field": "message",
            "id_field": "ref",
        },
        secrets={"api_key": "k-1"},
    )
    http_server.answer(lambda r: (200, {"ref": "G-9"}))
    pid = make_profile(ctx, phone="+4915112345678")
    mid = send(ctx, pid, "sms", category="transactional", payload={"text": "Your code is 1234"})
    dispatcher.run_once(ctx.clock.now())
    body = http_server.requests[-1].json()
    assert body == {"msisdn": "+4915112345678", "from": "partitur", "message": "Your code is 1234"}
    assert http_server.requests[-1].headers["authorization"] == "Bearer k-1"
    assert message(ctx, mid).provider_message_id == "G-9"


def test_inbound_stop_and_start_change_sms_consent(
    ctx: Context,
    client: TestClient,
    admin_headers: dict[str, str],
    http_server: HttpServer,
    dispatcher: Dispatcher,
) -> None:
    twilio(ctx, http_server)
    http_server.answer(lambda r: (201, {"sid": f"SM{len(http_server.requests)}"}))
    pid = make_profile(ctx, phone="+4915112345678")
    grant(ctx, pid, "sms")
    send(ctx, pid, "sms", payload={"text": "promo 1"})
    dispatcher.run_once(ctx.clock.now())
    url = client.get("/api/channels/inbound/sms-url", headers=admin_headers).json()["url"]
    path = url.removeprefix("http://127.0.0.1:8000")
    assert client.post(path, data={"From": "+4915112345678", "Body": "stop"}).status_code == 200
    blocked = send(ctx, pid, "sms", payload={"text": "promo 2"})
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, blocked).status == "suppressed"
    assert client.post(path, data={"From": "+4915112345678", "Body": "START"}).status_code == 200
    allowed = send(ctx, pid, "sms", payload={"text": "promo 3"}, category="transactional")
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, allowed).status == "sent"
    ledger = client.get(f"/api/channels/consents/{pid}", headers=admin_headers).json()["ledger"]
    assert [e["action"] for e in ledger] == ["granted", "revoked", "granted"]
    assert ledger[1]["source"] == "sms keyword STOP"
    assert (
        client.post(path[:-4] + "xxxx", data={"From": "+4915112345678", "Body": "STOP"}).status_code
        == 400
    )


def test_push_goes_to_each_token_and_an_unregistered_token_is_removed(
    ctx: Context, http_server: HttpServer, dispatcher: Dispatcher
) -> None:
    provider(
        ctx,
        channel="push",
        name="fcm",
        kind="fcm",
        config={"base_url": http_server.url, "project_id": "acme"},
        secrets={"access_token": "ya29.token"},
    )

    def fcm(request: Recorded) -> tuple[int, object]:
        token = request.json()["message"]["token"]
        if token == "dead-token-1":
            return 404, {
                "error": {
                    "code": 404,
                    "status": "NOT_FOUND",
                    "details": [{"errorCode": "UNREGISTERED"}],
                }
            }
        return 200, {"name": f"projects/acme/messages/{token}"}

    http_server.answer(fcm)
    pid = make_profile(ctx, push_tokens=["live-token-1", "dead-token-1"])
    grant(ctx, pid, "push")
    first = send(ctx, pid, "push", payload={"subject": "Sale", "text": "50% off"})
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, first).status == "sent"
    assert http_server.requests[0].path == "/v1/projects/acme/messages:send"
    assert http_server.requests[0].headers["authorization"] == "Bearer ya29.token"
    assert http_server.requests[0].json()["message"]["notification"] == {
        "title": "Sale",
        "body": "50% off",
    }
    assert len(http_server.requests) == 2
    send(ctx, pid, "push", payload={"text": "again"})
    dispatcher.run_once(ctx.clock.now())
    tokens = [r.json()["message"]["token"] for r in http_server.requests[2:]]
    assert tokens == ["live-token-1"]
