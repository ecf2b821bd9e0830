"""Secrets at rest (provider credentials, single sign-on client secrets): encrypted with a
Fernet key derived from the server's ``secret_key``, so a copy of the database alone does not
reveal them. One mechanism for every domain that keeps such secrets."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from partitur.core import jsonutil
from partitur.core.errors import Forbidden


def derive_key(secret_key: str, purpose: bytes) -> bytes:
    """A 32-byte key for one ``purpose``, derived from the server's secret key (HKDF)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"partitur", info=purpose).derive(
        secret_key.encode()
    )


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    # the purpose keeps its first name: secrets stored before other domains used it decrypt
    return Fernet(base64.urlsafe_b64encode(derive_key(secret_key, b"provider-secrets")))


def encrypt_secrets(secret_key: str, values: dict[str, str]) -> str:
    """Encrypt a small document of secrets for storage."""
    return _fernet(secret_key).encrypt(jsonutil.dumps(values)).decode()


def decrypt_secrets(secret_key: str, token: str | None) -> dict[str, str]:
    """Decrypt what ``encrypt_secrets`` made; a token made with another key raises
    ``Forbidden``."""
    if not token:
        return {}
    try:
        values: dict[str, str] = jsonutil.loads(_fernet(secret_key).decrypt(token.encode()))
    except InvalidToken as exc:
        raise Forbidden("stored secrets cannot be decrypted with this secret_key") from exc
    return values
