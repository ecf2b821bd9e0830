"""SMTP with STARTTLS and AUTH, against a real aiosmtpd server with a self-signed certificate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from tests.channels.conftest import (
    MailSink,
    _Handler,
    make_profile,
    message,
    provider,
    self_signed,
    send,
)
from tests.support.postgres import free_port


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_smtp(tmp_path: Path) -> Iterator[MailSink]:
    sink = MailSink("127.0.0.1", free_port())
    controller = Controller(
        _Handler(sink),
        hostname="127.0.0.1",
        port=sink.port,
        tls_context=self_signed(tmp_path),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    yield sink
    controller.stop()


def test_starttls_and_auth_deliver_and_a_wrong_password_fails_clearly(
    ctx: Context, tls_smtp: MailSink, dispatcher: Dispatcher
) -> None:
    config = {
        "host": "127.0.0.1",
        "port": tls_smtp.port,
        "security": "starttls",
        "username": "mailer",
        "verify_tls": False,
    }
    provider(
        ctx, channel="email", name="tls", kind="smtp", config=config, secrets={"password": "s3cret"}
    )
    pid = make_profile(ctx, email="a@example.com")
    ok = send(ctx, pid, category="transactional", payload={"subject": "Secure", "text": "hi"})
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, ok).status == "sent"
    assert tls_smtp.last()["Subject"] == "Secure"

    provider(
        ctx, channel="email", name="tls", kind="smtp", config=config, secrets={"password": "wrong"}
    )
    bad = send(ctx, pid, category="transactional", payload={"subject": "Nope", "text": "hi"})
    dispatcher.run_once(ctx.clock.now())
    row = message(ctx, bad)
    assert row.status == "deferred" and "535" in (row.error or "")
    assert len(tls_smtp.mails) == 1
