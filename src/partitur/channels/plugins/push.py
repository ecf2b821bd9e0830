"""Push in the style of FCM HTTP v1: ``POST {base_url}/v1/projects/{project}/messages:send``
per device token; tokens the provider reports unregistered are removed from the profile.

Authorisation is Google's service-account flow (RFC 7523 JWT bearer grant): an RS256-signed
JWT assertion (``iss`` the service account, ``scope``, ``aud`` the token URI, one hour of
validity) is exchanged at the token URI for an access token, which is cached until shortly
before it expires and dropped early when the provider answers 401.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from partitur.channels.base import (
    Channel,
    DeliveryContext,
    DeliveryResult,
    InvalidAddress,
    OutboundMessage,
)
from partitur.channels.plugins.http import (
    TRANSIENT,
    ProviderClient,
    TransportError,
    json_body,
)
from partitur.channels.recipients import Recipient
from partitur.core import jsonutil

INVALID_TOKEN_CODES = {"UNREGISTERED", "INVALID_ARGUMENT", "NOT_FOUND"}
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
#: an access token is renewed this long before the provider says it expires
EXPIRY_MARGIN = timedelta(seconds=60)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class TokenUnavailable(Exception):
    """No access token: ``transient`` when trying again later may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class _Cached:
    token: str
    expires_at: datetime


class ServiceAccountTokens:
    """Access tokens of one service account, from its key file's fields (``client_email``,
    ``private_key`` in PEM, optional ``private_key_id`` and ``token_uri``), cached until
    ``EXPIRY_MARGIN`` before expiry. Thread-safe: one exchange at a time."""

    def __init__(
        self,
        account: dict[str, Any],
        *,
        client: ProviderClient,
        token_uri: str | None = None,
        scope: str = FCM_SCOPE,
    ) -> None:
        missing = [k for k in ("client_email", "private_key") if not account.get(k)]
        if missing:
            raise ValueError(f"service account lacks {', '.join(missing)}")
        self.email = str(account["client_email"])
        self.key_id = account.get("private_key_id")
        self.token_uri = str(token_uri or account.get("token_uri") or GOOGLE_TOKEN_URI)
        self.scope = scope
        self.client = client
        try:
            key = load_pem_private_key(str(account["private_key"]).encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"service account private_key is not a PEM key: {exc}") from exc
        if not isinstance(key, RSAPrivateKey):
            raise ValueError("service account private_key is not an RSA key (RS256 needs one)")
        self._private = key
        self._cached: _Cached | None = None
        self._lock = threading.Lock()

    def assertion(self, now: datetime) -> str:
        """The signed JWT that asks the token URI for an access token."""
        issued = int(now.timestamp())
        claims = {
            "iss": self.email,
            "sub": self.email,
            "scope": self.scope,
            "aud": self.token_uri,
            "iat": issued,
            "exp": issued + 3600,
        }
        headers = {"kid": str(self.key_id)} if self.key_id else None
        return jwt.encode(claims, self._private, algorithm="RS256", headers=headers)

    def token(self, now: datetime) -> str:
        """A valid access token (cached, or freshly exchanged); raises ``TokenUnavailable``."""
        with self._lock:
            cached = self._cached
            if cached is not None and now < cached.expires_at - EXPIRY_MARGIN:
                return cached.token
            form = {"grant_type": JWT_BEARER, "assertion": self.assertion(now)}
            try:
                response = self.client.post(self.token_uri, form=form)
            except (TransportError, ValueError) as exc:
                raise TokenUnavailable(
                    f"token endpoint {self.token_uri}: {exc}",
                    transient=isinstance(exc, TransportError),
                ) from exc
            try:
                answer = json_body(response, "token endpoint")
            except ValueError as exc:
                raise TokenUnavailable(str(exc), transient=response.status in TRANSIENT) from exc
            token = answer.get("access_token")
            if response.status >= 300 or not isinstance(token, str) or not token:
                error = answer.get("error_description") or answer.get("error") or answer
                raise TokenUnavailable(
                    f"token endpoint answered {response.status}: {error}",
                    transient=response.status in TRANSIENT,
                )
            lifetime = answer.get("expires_in", 3600)
            seconds = float(lifetime) if isinstance(lifetime, int | float | str) else 3600.0
            self._cached = _Cached(token, now + timedelta(seconds=seconds))
            return token

    def forget(self, token: str) -> None:
        """Drop a cached token the provider refused (revoked or expired early)."""
        with self._lock:
            if self._cached is not None and self._cached.token == token:
                self._cached = None


class FcmPush(Channel):
    """Config: base_url (default https://fcm.googleapis.com), project_id (default: the service
    account's), token_uri (default: the service account's, else Google's), scope.
    Secrets: service_account (the service account key file, JSON), or access_token (a fixed
    OAuth 2 bearer token, e.g. for a test double)."""

    kind = "fcm"
    channel = "push"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = ProviderClient(self.config)
        self.tokens: ServiceAccountTokens | None = None
        raw = self.secrets.get("service_account")
        if raw:
            try:
                account = jsonutil.loads(raw)
            except ValueError as exc:
                raise ValueError(
                    f"push provider {self.name!r}: service_account is not JSON"
                ) from exc
            if not isinstance(account, dict):
                raise ValueError(f"push provider {self.name!r}: service_account is not an object")
            self.tokens = ServiceAccountTokens(
                account,
                client=self.client,
                token_uri=self.config.get("token_uri"),
                scope=str(self.config.get("scope") or FCM_SCOPE),
            )
            self.config.setdefault("project_id", account.get("project_id", ""))
        elif not self.secrets.get("access_token"):
            raise ValueError(
                f"push provider {self.name!r} needs a service_account or an access_token secret"
            )

    def _bearer(self, now: datetime) -> str:
        if self.tokens is None:
            return self.secrets.get("access_token", "")
        return self.tokens.token(now)

    def address(self, recipient: Recipient, payload: dict[str, Any]) -> str | None:
        tokens = payload.get("tokens") or recipient.push_tokens
        if not tokens:
            raise InvalidAddress("profile has no push device token")
        return ",".join(str(t) for t in tokens)

    def send(self, message: OutboundMessage, context: DeliveryContext) -> DeliveryResult:
        base = str(self.config.get("base_url", "https://fcm.googleapis.com")).rstrip("/")
        url = f"{base}/v1/projects/{self.config.get('project_id', '')}/messages:send"
        rendered = message.rendered
        try:
            bearer = self._bearer(context.now)
        except TokenUnavailable as exc:
            if exc.transient:
                return DeliveryResult.retry(f"push provider authorisation: {exc}")
            return DeliveryResult.failed(f"push provider authorisation: {exc}")
        invalid: list[str] = []
        sent: list[str] = []
        transient: list[str] = []
        for token in (message.to or "").split(","):
            body = {
                "message": {
                    "token": token,
                    "notification": {
                        "title": rendered.subject if rendered else None,
                        "body": rendered.text.strip() if rendered else "",
                    },
                    "data": {
                        "message_id": message.id,
                        **{
                            str(k): str(v)
                            for k, v in dict(message.payload.get("data") or {}).items()
                        },
                    },
                }
            }
            try:
                response = self.client.post(
                    url, json=body, headers={"Authorization": f"Bearer {bearer}"}
                )
                if response.status == 401 and self.tokens is not None:
                    # the token was revoked or expired early: one fresh token, one more try
                    self.tokens.forget(bearer)
                    try:
                        bearer = self.tokens.token(context.now)
                    except TokenUnavailable as exc:
                        return DeliveryResult.retry(f"push provider authorisation: {exc}")
                    response = self.client.post(
                        url, json=body, headers={"Authorization": f"Bearer {bearer}"}
                    )
            except TransportError as exc:
                transient.append(str(exc))
                continue
            try:
                answer = json_body(response, "push provider")
            except ValueError as exc:
                if response.status in TRANSIENT:
                    transient.append(f"push provider answered {response.status}")
                    continue
                return DeliveryResult.failed(f"push provider answered garbage: {exc}")
            if response.status < 300 and "name" in answer:
                sent.append(str(answer["name"]))
            elif _error_status(answer) in INVALID_TOKEN_CODES:
                invalid.append(token)
            elif response.status in TRANSIENT:
                transient.append(f"push provider answered {response.status}")
            else:
                return DeliveryResult(
                    "failed",
                    error=f"push provider answered {response.status}: {answer}",
                    invalid_tokens=invalid,
                )
        if sent:
            return DeliveryResult(
                "sent", provider_message_id=",".join(sent), invalid_tokens=invalid
            )
        if transient:
            return DeliveryResult("retry", error="; ".join(transient), invalid_tokens=invalid)
        return DeliveryResult(
            "failed", error="every device token is invalid", invalid_tokens=invalid
        )

    def close(self) -> None:
        self.client.close()


def _error_status(answer: dict[str, Any]) -> str | None:
    error = answer.get("error")
    if not isinstance(error, dict):
        return None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    status = error.get("status")
    return str(status) if status else None
