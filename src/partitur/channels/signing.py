"""Signed tokens for links (unsubscribe, open pixel, click redirect, inbox, opt-in) and the
encryption of provider secrets at rest. Both keys are derived from ``settings.secret_key``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from partitur.core import jsonutil
from partitur.core.errors import BadRequest, Forbidden


def _derive(secret_key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"partitur", info=purpose).derive(
        secret_key.encode()
    )


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(secret_key, b"provider-secrets")))


@lru_cache(maxsize=8)
def _link_key(secret_key: str) -> bytes:
    return _derive(secret_key, b"signed-links")


def encrypt_secrets(secret_key: str, values: dict[str, str]) -> str:
    return _fernet(secret_key).encrypt(jsonutil.dumps(values)).decode()


def decrypt_secrets(secret_key: str, token: str | None) -> dict[str, str]:
    """Decrypt provider secrets; a token made with another key raises ``Forbidden``."""
    if not token:
        return {}
    try:
        values: dict[str, str] = jsonutil.loads(_fernet(secret_key).decrypt(token.encode()))
    except InvalidToken as exc:
        raise Forbidden("provider secrets cannot be decrypted with this secret_key") from exc
    return values


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret_key: str, purpose: str, claims: dict[str, Any]) -> str:
    """A URL-safe token carrying ``claims``, valid only for ``purpose``."""
    body = _b64(jsonutil.dumps(claims))
    mac = hmac.new(_link_key(secret_key), f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac[:18])}"


def verify(secret_key: str, purpose: str, token: str) -> dict[str, Any]:
    """The claims of a token made by ``sign``; raises ``BadRequest`` if it was tampered with."""
    body, _, mac = token.partition(".")
    expected = hmac.new(
        _link_key(secret_key), f"{purpose}.{body}".encode(), hashlib.sha256
    ).digest()
    try:
        good = hmac.compare_digest(_unb64(mac), expected[:18])
        claims: dict[str, Any] = jsonutil.loads(_unb64(body)) if good else {}
    except ValueError:
        good = False
    if not good or not isinstance(claims, dict):
        raise BadRequest("link is not valid", field="token")
    return claims
