"""Identifiers: short prefixed, time-ordered, URL-safe ids (``prf_01JD...``).

The body is a ULID (48-bit millisecond time + 80 random bits, Crockford base32), so ids sort by
creation time, which keeps B-tree inserts local and lets ids double as cursors.
"""

from __future__ import annotations

import os
import time

import numpy as np

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: for bulk ids: the alphabet as bytes, and the weights of a digit's five bits
_DIGITS = np.frombuffer(_ALPHABET.encode(), dtype=np.uint8)
_BIT_WEIGHTS = np.array([16, 8, 4, 2, 1], dtype=np.uint8)


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


def new_ids(prefix: str, count: int, now_ms: int | None = None) -> list[str]:
    """``count`` new ids (as ``new_id``) at once, for bulk creation: one time part, and the
    random parts sorted and encoded as arrays. They ascend in the order returned (ULID's
    monotonic variant, with random gaps), so rows created in that order append to their
    indexes."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    head = ulid(ms)[:10]
    raw = np.frombuffer(os.urandom(10 * count), dtype=np.uint8).reshape(count, 10)
    # ascending as 80-bit big-endian numbers: by the high 16 bits, then the low 64
    high = raw[:, :2].copy().view(">u2").ravel()
    low = raw[:, 2:].copy().view(">u8").ravel()
    raw = raw[np.lexsort((low, high))]
    # 16 Crockford base32 digits of 5 bits each per id
    digits = np.unpackbits(raw, axis=1).reshape(count, 16, 5) @ _BIT_WEIGHTS
    body = _DIGITS[digits].tobytes().decode()
    return [f"{prefix}_{head}{body[i * 16 : i * 16 + 16]}" for i in range(count)]
