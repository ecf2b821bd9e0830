"""Password hashing with argon2id (``argon2-cffi``) and the rules a new password must meet."""

from __future__ import annotations

import contextlib
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from partitur.core.errors import ValidationFailed

MIN_LENGTH = 12
MAX_LENGTH = 200


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    # argon2-cffi's defaults follow RFC 9106's second recommendation (64 MiB, 3 passes)
    return PasswordHasher()


@lru_cache(maxsize=1)
def _decoy() -> str:
    """A hash to verify against when the e-mail is unknown, so that an unknown account
    answers as slowly as a wrong password (nobody learns which addresses have accounts)."""
    return _hasher().hash("partitur: no such account")


def check_new_password(password: str, *, email: str | None = None) -> None:
    """Refuse a password that is too short, too long or the e-mail address itself."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            f"a password needs at least {MIN_LENGTH} characters", field="password"
        )
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"a password has at most {MAX_LENGTH} characters", field="password")
    if email and password.strip().lower() == email.strip().lower():
        raise ValidationFailed("the password cannot be the e-mail address", field="password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash; without a hash (unknown account,
    no password set yet) it spends the same time and answers False."""
    if not stored:
        with contextlib.suppress(VerificationError):
            _hasher().verify(_decoy(), password)
        return False
    try:
        return _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher().check_needs_rehash(stored)
