"""Keyset pagination: opaque cursors, stable under concurrent inserts."""

from __future__ import annotations

import base64
from typing import Generic, TypeVar

from pydantic import BaseModel

from partitur.core.errors import BadRequest

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(value: str | int) -> str:
    raw = f"{type(value).__name__}:{value}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str | int:
    """Decode a cursor made by ``encode_cursor``; raises ``BadRequest`` naming ``cursor``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, _, value = base64.urlsafe_b64decode(padded).decode().partition(":")
        if kind == "int":
            return int(value)
        if kind == "str":
            return value
    except ValueError:
        pass
    raise BadRequest("cursor is not valid", field="cursor")
