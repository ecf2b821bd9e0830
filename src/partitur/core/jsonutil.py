"""Fast JSON (orjson) with the conventions partitur uses: ISO 8601 times, Decimal as string."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z)


def dumps_str(value: Any) -> str:
    # orjson called here, not through dumps: bulk work calls this millions of times
    return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z).decode()


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ``orjson.JSONDecodeError`` (a ``ValueError``) on bad input."""
    return orjson.loads(data)
