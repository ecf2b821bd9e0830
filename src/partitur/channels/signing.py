"""Signed tokens for links (unsubscribe, open pixel, click redirect, inbox, opt-in) and the
encryption of provider secrets at rest (``core.crypto``). Both keys are derived from
``settings.secret_key``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import Any

from partitur.core import jsonutil
from partitur.core.crypto import decrypt_secrets as decrypt_secrets
from partitur.core.crypto import derive_key
from partitur.core.crypto import encrypt_secrets as encrypt_secrets
from partitur.core.errors import BadRequest


@lru_cache(maxsize=8)
def _link_key(secret_key: str) -> bytes:
    return derive_key(secret_key, b"signed-links")


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
