"""Email over SMTP: STARTTLS/TLS, auth, pooled connections, multipart text + HTML, RFC 8058
one-click unsubscribe headers, open pixel and signed click redirects."""

from __future__ import annotations

import binascii
import html
import queue
import re
import smtplib
import ssl
from email.header import Header
from email.utils import formatdate
from typing import Any

from partitur.channels.base import (
    Channel,
    DeliveryContext,
    DeliveryResult,
    InvalidAddress,
    OutboundMessage,
)
from partitur.channels.recipients import Recipient
from partitur.channels.signing import sign
from partitur.core import outbound

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_HREF = re.compile(r'href="(https?://[^"]+)"', re.IGNORECASE)


def normalise_email(value: str) -> str:
    """Lower-cased, trimmed address; raises ``InvalidAddress`` when it is not an address."""
    text = value.strip()
    if len(text) > 254 or not _EMAIL.match(text):
        raise InvalidAddress(f"invalid email address {value!r}")
    return text.lower()


def tracking_links(base_url: str, secret_key: str, message_id: str) -> dict[str, str]:
    base = base_url.rstrip("/") + "/api/channels"
    return {
        "unsubscribe": f"{base}/u/{sign(secret_key, 'unsubscribe', {'m': message_id})}",
        "open": f"{base}/t/o/{sign(secret_key, 'open', {'m': message_id})}.gif",
    }


def add_tracking(html_body: str, *, base_url: str, secret_key: str, message_id: str) -> str:
    """Rewrite every http(s) link to a signed click redirect and append the open pixel.

    The redirect target lives inside the signed token, so the endpoint can only ever redirect
    to a URL that was in the message (no open redirect).
    """
    base = base_url.rstrip("/") + "/api/channels"

    def rewrite(match: re.Match[str]) -> str:
        url = html.unescape(match.group(1))
        if url.startswith(base):
            return match.group(0)
        token = sign(secret_key, "click", {"m": message_id, "u": url})
        return f'href="{base}/t/c/{token}"'

    tracked = _HREF.sub(rewrite, html_body)
    pixel = tracking_links(base_url, secret_key, message_id)["open"]
    img = f'<img src="{pixel}" width="1" height="1" alt="" style="display:none">'
    if "</body>" in tracked:
        return tracked.replace("</body>", img + "</body>", 1)
    return tracked + img


def _header(name: str, value: str) -> bytes:
    """One header line; non-ASCII values are RFC 2047 encoded."""
    if value.isascii() and "\n" not in value and "\r" not in value:
        return f"{name}: {value}\r\n".encode()
    flat = value.replace("\r", " ").replace("\n", " ")  # no header injection
    return f"{name}: {Header(flat, 'utf-8').encode()}\r\n".encode()


def _part(content_type: str, body: str) -> bytes:
    encoded = binascii.b2a_qp(body.encode(), istext=True, header=False)
    encoded = encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return (
        (
            f"Content-Type: {content_type}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode()
        + encoded
        + b"\r\n"
    )


def build_email(
    message: OutboundMessage, *, from_address: str, base_url: str, secret_key: str, track: bool
) -> bytes:
    """The RFC 5322 message: multipart/alternative (text + HTML) or text only, with the
    RFC 8058 unsubscribe headers on marketing mail.

    Written directly as bytes (quoted-printable bodies, RFC 2047 headers): the ``email``
    package's generator costs several milliseconds per message, more than the SMTP exchange.
    """
    rendered = message.rendered
    if rendered is None:
        raise InvalidAddress("email needs a rendered template")
    head = [
        _header("From", from_address),
        _header("To", message.to or ""),
        _header("Subject", rendered.subject or ""),
        _header("Date", formatdate(localtime=False)),
        _header("Message-ID", f"<{message.id}@partitur>"),
        _header("X-Partitur-Message-Id", message.id),
        b"MIME-Version: 1.0\r\n",
    ]
    if message.category == "marketing":
        links = tracking_links(base_url, secret_key, message.id)
        head.append(_header("List-Unsubscribe", f"<{links['unsubscribe']}>"))
        head.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    text = _part("text/plain", rendered.text or "")
    if not rendered.html:
        return b"".join(head) + text
    body = rendered.html
    if track:
        body = add_tracking(body, base_url=base_url, secret_key=secret_key, message_id=message.id)
    boundary = f"=_partitur_{message.id}"
    head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode())
    sep = f"--{boundary}\r\n".encode()
    return (
        b"".join(head)
        + sep
        + text
        + sep
        + _part("text/html", body)
        + f"--{boundary}--\r\n".encode()
    )


class SmtpEmail(Channel):
    """Config: host, port, security (none|starttls|tls), username, from_address, timeout,
    track (open/click tracking, default on), bounce_address (the envelope sender, where
    receiving servers send bounces; default: the From address). Secrets: password."""

    kind = "smtp"
    channel = "email"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.host = str(self.config.get("host", self.settings.smtp_host))
        self.port = int(self.config.get("port", self.settings.smtp_port))
        self.security = str(self.config.get("security", "none"))
        self.username = self.config.get("username")
        self.timeout = float(self.config.get("timeout", 10))
        self.from_address = str(self.config.get("from_address", "partitur <noreply@localhost>"))
        self.track = bool(self.config.get("track", True))
        self._pool: queue.LifoQueue[smtplib.SMTP] = queue.LifoQueue()

    def address(self, recipient: Recipient, payload: dict[str, Any]) -> str | None:
        value = payload.get("to") or recipient.email
        if not value:
            raise InvalidAddress("profile has no email address")
        return normalise_email(str(value))

    def _connect(self) -> smtplib.SMTP:
        outbound.check_host(self.host, self.port)
        context = ssl.create_default_context()
        if self.config.get("verify_tls") is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        conn: smtplib.SMTP
        if self.security == "tls":
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                conn.starttls(context=context)
        if self.username:
            conn.login(str(self.username), self.secrets.get("password", ""))
        return conn

    def _checkout(self) -> smtplib.SMTP:
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            return self._connect()

    def send(self, message: OutboundMessage, context: DeliveryContext) -> DeliveryResult:
        try:
            mail = build_email(
                message,
                from_address=self.from_address,
                base_url=context.settings.base_url,
                secret_key=context.settings.secret_key,
                track=self.track,
            )
        except (InvalidAddress, ValueError) as exc:
            return DeliveryResult.failed(f"cannot build the email: {exc}")
        envelope_from = str(self.config.get("bounce_address") or _addr_spec(self.from_address))
        for fresh in (False, True):
            try:
                conn = self._connect() if fresh else self._checkout()
            except (OSError, smtplib.SMTPException) as exc:
                return DeliveryResult.retry(f"smtp connect {self.host}:{self.port}: {exc}")
            try:
                conn.sendmail(envelope_from, [message.to or ""], mail)
            except smtplib.SMTPServerDisconnected as exc:
                _quit(conn)
                if fresh:
                    return DeliveryResult.retry(f"smtp server disconnected: {exc}")
                continue  # a pooled connection went stale: once more on a new one
            except smtplib.SMTPRecipientsRefused as exc:
                self._pool.put(conn)
                code, reason = next(iter(exc.recipients.values()))
                return _smtp_failure(code, reason, bounce=True)
            except smtplib.SMTPResponseException as exc:
                self._pool.put(conn)
                return _smtp_failure(exc.smtp_code, exc.smtp_error, bounce=False)
            except (OSError, smtplib.SMTPException) as exc:
                _quit(conn)
                return DeliveryResult.retry(f"smtp: {exc}")
            self._pool.put(conn)
            return DeliveryResult("sent", provider_message_id=f"<{message.id}@partitur>")
        return DeliveryResult.retry("smtp: no connection")

    def close(self) -> None:
        while True:
            try:
                _quit(self._pool.get_nowait())
            except queue.Empty:
                return


def _addr_spec(value: str) -> str:
    match = re.search(r"<([^>]+)>", value)
    return match.group(1) if match else value.strip()


def _smtp_failure(code: int, reason: bytes | str, *, bounce: bool) -> DeliveryResult:
    text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
    if 400 <= code < 500:
        return DeliveryResult.retry(f"smtp {code}: {text}")
    return DeliveryResult("bounced" if bounce else "failed", error=f"smtp {code}: {text}")


def _quit(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()
