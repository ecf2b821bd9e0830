"""Push authorisation: the service-account OAuth 2 flow (RS256 JWT assertion exchanged at a
real local token endpoint that verifies the signature with the account's public key)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from partitur.core.clock import VirtualClock
from tests.channels.conftest import (
    HttpServer,
    Recorded,
    grant,
    make_profile,
    message,
    provider,
    send,
)

ACCOUNT = "push-sender@acme-shop.iam.gserviceaccount.com"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class TokenAndFcm:
    """A token endpoint that only trusts the account's public key, and an FCM endpoint that
    only accepts the access tokens the token endpoint issued (each valid for ``lifetime``)."""

    def __init__(self, server: HttpServer, public: rsa.RSAPublicKey, lifetime: int) -> None:
        self.server = server
        self.public = public
        self.lifetime = lifetime
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.claims: list[dict[str, Any]] = []
        self.headers: list[dict[str, Any]] = []

    def __call__(self, request: Recorded) -> tuple[int, object]:
        if request.path == "/token":
            return self.token(request)
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued or bearer in self.revoked:
            return 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}
        return 200, {"name": f"projects/acme-shop/messages/{len(self.issued)}"}

    def token(self, request: Recorded) -> tuple[int, object]:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = jwt.decode(
                form["assertion"],
                self.public,
                algorithms=["RS256"],
                audience=f"{self.server.url}/token",
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
                leeway=timedelta(days=3650),  # the dispatcher runs on the tests' virtual clock
            )
        except jwt.InvalidTokenError as exc:
            return 400, {"error": "invalid_grant", "error_description": str(exc)}
        self.claims.append(claims)
        self.headers.append(jwt.get_unverified_header(form["assertion"]))
        token = f"ya29.issued-{len(self.issued) + 1}"
        self.issued.append(token)
        return 200, {"access_token": token, "expires_in": self.lifetime, "token_type": "Bearer"}


def account_json(key: rsa.RSAPrivateKey, server: HttpServer) -> str:
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "acme-shop",
            "private_key_id": "k-2026-11",
            "private_key": pem(key),
            "client_email": ACCOUNT,
            "token_uri": f"{server.url}/token",
        }
    )


@pytest.fixture
def key() -> rsa.RSAPrivateKey:
    return rsa_key()


def test_push_exchanges_a_signed_jwt_for_an_access_token_and_caches_it_until_expiry(
    ctx: Context,
    clock: VirtualClock,
    http_server: HttpServer,
    dispatcher: Dispatcher,
    key: rsa.RSAPrivateKey,
) -> None:
    endpoints = TokenAndFcm(http_server, key.public_key(), lifetime=3600)
    http_server.answer(endpoints)
    provider(
        ctx,
        channel="push",
        name="fcm",
        kind="fcm",
        config={"base_url": http_server.url},
        secrets={"service_account": account_json(key, http_server)},
    )
    pid = make_profile(ctx, push_tokens=["device-1"])
    grant(ctx, pid, "push")
    first = send(ctx, pid, "push", category="transactional", payload={"text": "Shipped"})
    second = send(ctx, pid, "push", category="transactional", payload={"text": "Arriving"})
    dispatcher.run_once(clock.now())
    assert (message(ctx, first).status, message(ctx, second).status) == ("sent", "sent")
    assert endpoints.issued == ["ya29.issued-1"]  # one exchange for both messages
    claims = endpoints.claims[0]
    assert claims["iss"] == ACCOUNT and claims["aud"] == f"{http_server.url}/token"
    assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["iat"] == int(clock.now().timestamp())
    assert endpoints.headers[0]["kid"] == "k-2026-11"
    sends = [r for r in http_server.requests if r.path.endswith(":send")]
    assert {r.path for r in sends} == {"/v1/projects/acme-shop/messages:send"}
    assert {r.headers["authorization"] for r in sends} == {"Bearer ya29.issued-1"}

    # still cached 58 minutes later; renewed once it is about to expire
    clock.advance(timedelta(minutes=58))
    send(ctx, pid, "push", category="transactional", payload={"text": "a"})
    dispatcher.run_once(clock.now())
    assert endpoints.issued == ["ya29.issued-1"]
    clock.advance(timedelta(minutes=1, seconds=30))
    later = send(ctx, pid, "push", category="transactional", payload={"text": "b"})
    dispatcher.run_once(clock.now())
    assert endpoints.issued == ["ya29.issued-1", "ya29.issued-2"]
    assert message(ctx, later).status == "sent"
    assert http_server.requests[-1].headers["authorization"] == "Bearer ya29.issued-2"

    # a token the provider refuses before its time is replaced at once
    endpoints.revoked.add("ya29.issued-2")
    revoked = send(ctx, pid, "push", category="transactional", payload={"text": "c"})
    dispatcher.run_once(clock.now())
    assert message(ctx, revoked).status == "sent"
    assert endpoints.issued[-1] == "ya29.issued-3"


def test_an_assertion_signed_with_the_wrong_key_fails_the_message_with_the_reason(
    ctx: Context, http_server: HttpServer, dispatcher: Dispatcher, key: rsa.RSAPrivateKey
) -> None:
    endpoints = TokenAndFcm(http_server, key.public_key(), lifetime=3600)
    http_server.answer(endpoints)
    provider(
        ctx,
        channel="push",
        name="fcm",
        kind="fcm",
        config={"base_url": http_server.url},
        secrets={"service_account": account_json(rsa_key(), http_server)},  # another key
    )
    pid = make_profile(ctx, push_tokens=["device-1"])
    grant(ctx, pid, "push")
    mid = send(ctx, pid, "push", category="transactional", payload={"text": "x"})
    dispatcher.run_once(ctx.clock.now())
    row = message(ctx, mid)
    assert row.status == "failed"
    assert "invalid_grant" not in (row.error or "")  # the description is what helps
    assert "Signature verification failed" in (row.error or "")
    assert endpoints.issued == []
    assert not [r for r in http_server.requests if r.path.endswith(":send")]


def test_a_service_account_without_a_private_key_is_a_clear_error_on_the_message(
    ctx: Context, http_server: HttpServer, dispatcher: Dispatcher
) -> None:
    provider(
        ctx,
        channel="push",
        name="fcm",
        kind="fcm",
        config={"base_url": http_server.url},
        secrets={"service_account": json.dumps({"client_email": ACCOUNT})},
    )
    pid = make_profile(ctx, push_tokens=["device-1"])
    grant(ctx, pid, "push")
    mid = send(ctx, pid, "push", category="transactional", payload={"text": "x"})
    dispatcher.run_once(ctx.clock.now())
    row = message(ctx, mid)
    assert row.status == "failed" and "service account lacks private_key" in (row.error or "")
    assert http_server.requests == []
