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

#: keys used before the current one (newest first): they still decrypt and verify, never
#: encrypt or sign (``PARTITUR_PREVIOUS_SECRET_KEYS``, set by ``Context.open``)
_previous: tuple[str, ...] = ()


def keep_previous_keys(keys: list[str]) -> None:
    """Let ``keys`` (retired keys, newest first) still decrypt secrets and verify links."""
    global _previous
    _previous = tuple(k for k in keys if k)


def verification_keys(secret_key: str) -> tuple[str, ...]:
    """The current key, then the retired ones."""
    return (secret_key, *(k for k in _previous if k != secret_key))


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
    for key in verification_keys(secret_key):
        try:
            values: dict[str, str] = jsonutil.loads(_fernet(key).decrypt(token.encode()))
        except InvalidToken:
            continue
        return values
    raise Forbidden("stored secrets cannot be decrypted with this secret_key")
