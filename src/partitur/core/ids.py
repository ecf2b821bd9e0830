"""Identifiers: short prefixed, time-ordered, URL-safe ids (``prf_01JD...``).

The body is a ULID (48-bit millisecond time + 80 random bits, Crockford base32), so ids sort by
creation time, which keeps B-tree inserts local and lets ids double as cursors.
"""

from __future__ import annotations

import base64
import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(now_ms: int | None = None) -> str:
    """Return a new 26-character ULID string."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """Return a new id such as ``prf_01JD3...`` for the given short prefix."""
    return f"{prefix}_{ulid()}"


_RFC4648 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_CROCKFORD = str.maketrans(_RFC4648, _ALPHABET)


def new_ids(prefix: str, count: int, now_ms: int | None = None) -> list[str]:
    """``count`` new ids (as ``new_id``) at once, for bulk creation: one time part, and the
    random parts encoded in one pass. They ascend in the order returned (ULID's monotonic
    variant, with random gaps), so rows created in that order append to their indexes."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    head = ulid(ms)[:10]
    randomness = os.urandom(10 * count)
    parts = sorted(randomness[i * 10 : i * 10 + 10] for i in range(count))
    body = base64.b32encode(b"".join(parts)).decode().translate(_TO_CROCKFORD)
    return [f"{prefix}_{head}{body[i * 16 : i * 16 + 16]}" for i in range(count)]
