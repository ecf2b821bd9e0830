"""Email over SMTP: STARTTLS/TLS, auth, pooled connections, multipart text + HTML, RFC 8058
one-click unsubscribe headers, open pixel and signed click redirects."""

from __future__ import annotations

import html
import queue
import re
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
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


def build_email(
    message: OutboundMessage, *, from_address: str, base_url: str, secret_key: str, track: bool
) -> EmailMessage:
    rendered = message.rendered
    if rendered is None:
        raise InvalidAddress("email needs a rendered template")
    links = tracking_links(base_url, secret_key, message.id)
    mail = EmailMessage()
    mail["From"] = from_address
    mail["To"] = message.to or ""
    mail["Subject"] = rendered.subject or ""
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{message.id}@partitur>"
    mail["X-Partitur-Message-Id"] = message.id
    if message.category == "marketing":
        mail["List-Unsubscribe"] = f"<{links['unsubscribe']}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(rendered.text or "")
    if rendered.html:
        body = rendered.html
        if track:
            body = add_tracking(
                body, base_url=base_url, secret_key=secret_key, message_id=message.id
            )
        mail.add_alternative(body, subtype="html")
    return mail


class SmtpEmail(Channel):
    """Config: host, port, security (none|starttls|tls), username, from_address, timeout,
    track (open/click tracking, default on), pool_size. Secrets: password."""

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
        envelope_from = Address(addr_spec=_addr_spec(self.from_address)).addr_spec
        for fresh in (False, True):
            try:
                conn = self._connect() if fresh else self._checkout()
            except (OSError, smtplib.SMTPException) as exc:
                return DeliveryResult.retry(f"smtp connect {self.host}:{self.port}: {exc}")
            try:
                conn.send_message(mail, from_addr=envelope_from, to_addrs=[message.to or ""])
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
            return DeliveryResult("sent", provider_message_id=mail["Message-ID"])
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
