"""Builders and real local servers (SMTP, HTTP) for the channels tests."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401 - see below
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from partitur.channels import service
from partitur.channels.contracts import ConsentChange, DeliveryPolicy, ProviderIn, SendRequest
from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.ids import new_id
from partitur.profiles.tables import profiles
from tests.support.postgres import free_port

# hypothesis is imported up front: its pytest plugin otherwise imports it at the terminal summary,
# and on CPython 3.11.7 that late ast.parse has been seen to fail with "AST constructor
# recursion depth mismatch" after the TLS SMTP test (a CPython bug, not ours).

# --- builders ------------------------------------------------------------------------------


def make_profile(
    ctx: Context,
    *,
    timezone: str | None = "Europe/Berlin",
    locale: str | None = "en",
    **traits: Any,
) -> str:
    """Insert a profile row (the profiles domain owns the table; tests only arrange with it)."""
    pid = new_id("prf")
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        conn.execute(
            profiles.insert().values(
                id=pid,
                workspace_id=ctx.workspace_id,
                created_at=now,
                updated_at=now,
                traits=traits,
                trait_times={},
                computed={},
                timezone=timezone,
                locale=locale,
                is_test=False,
            )
        )
    return pid


def grant(ctx: Context, profile_id: str, channel: str, group: str = "*") -> None:
    with ctx.store.begin() as conn:
        service.set_consent(
            conn,
            workspace_id=ctx.workspace_id,
            change=ConsentChange.model_validate(
                {"profile_id": profile_id, "channel": channel, "group": group, "status": "granted"}
            ),
            now=ctx.clock.now(),
            secret_key=ctx.settings.secret_key,
            actor=Actor.system(ctx.workspace_id, "test"),
        )


def send(ctx: Context, profile_id: str, channel: str = "email", **fields: Any) -> str:
    fields.setdefault("idempotency_key", new_id("key"))
    with ctx.store.begin() as conn:
        queued = service.enqueue(
            conn,
            request=SendRequest.model_validate(
                {"workspace_id": ctx.workspace_id, "profile_id": profile_id, "channel": channel}
                | fields
            ),
            now=ctx.clock.now(),
        )
    return queued.id


def message(ctx: Context, message_id: str) -> Any:
    with ctx.store.read() as conn:
        return service.get_message(conn, workspace_id=ctx.workspace_id, message_id=message_id)


def set_policy(ctx: Context, **changes: Any) -> None:
    with ctx.store.begin() as conn:
        service.set_policy(
            conn,
            workspace_id=ctx.workspace_id,
            policy=DeliveryPolicy(**changes),
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )


def provider(ctx: Context, **fields: Any) -> None:
    with ctx.store.begin() as conn:
        service.save_provider(
            conn,
            workspace_id=ctx.workspace_id,
            provider=ProviderIn(**fields),
            secret_key=ctx.settings.secret_key,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )


def delivery_events(ctx: Context) -> list[tuple[str, str]]:
    """(event name, message id) of every delivery event in the event log."""
    from sqlalchemy import select

    from partitur.events.tables import events

    with ctx.store.read() as conn:
        rows = conn.execute(
            select(events.c.event, events.c.properties).order_by(events.c.seq)
        ).all()
    return [(name, props["message_id"]) for name, props in rows]


@pytest.fixture
def dispatcher(ctx: Context) -> Iterator[Dispatcher]:
    d = Dispatcher(ctx, threads=4)
    yield d
    d.close()


def self_signed(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


# --- a real SMTP server --------------------------------------------------------------------


@dataclass
class MailSink:
    host: str
    port: int
    mails: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    def last(self) -> EmailMessage:
        assert self.mails, "no mail arrived"
        return self.mails[-1]


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.content if isinstance(envelope.content, bytes) else b""
        mail = message_from_bytes(data, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.sink.mails.append(mail)
        self.sink.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[MailSink]:
    port = free_port()
    sink = MailSink("127.0.0.1", port)
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=port)
    controller.start()
    yield sink
    controller.stop()


# --- a real HTTP server --------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[Recorded], tuple[int, Any]]


@dataclass
class HttpServer:
    url: str
    requests: list[Recorded]
    respond: list[Responder]

    def answer(self, responder: Responder) -> None:
        self.respond[0] = responder


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    requests: list[Recorded] = []
    respond: list[Responder] = [lambda r: (200, {"id": "ok"})]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            rec = Recorded(
                "POST",
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
            requests.append(rec)
            status, body = respond[0](rec)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield HttpServer(f"http://127.0.0.1:{server.server_address[1]}", requests, respond)
    server.shutdown()
    server.server_close()
