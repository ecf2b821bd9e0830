"""Column types shared by every domain's tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC.

    SQLite keeps ``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC (sortable, readable by DuckDB);
    PostgreSQL keeps ``timestamptz``. Naive datetimes are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return utc_from_db(value)


def utc_from_db(value: Any) -> datetime | None:
    """A ``UtcDateTime`` value as a driver reads it (text on SQLite, a datetime on PostgreSQL)
    as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 26 and value[10] == " ":
        # what the store writes on SQLite (naive UTC to the microsecond); parsing it with the
        # offset appended is several times faster than ``replace(tzinfo=...)`` afterwards
        return datetime.fromisoformat(value + "+00:00")
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_moment(value: Any) -> datetime:
    """``utc_from_db`` for a value that is never NULL."""
    moment = utc_from_db(value)
    if moment is None:
        raise ValueError("a time is missing")
    return moment


#: JSON documents: JSONB on PostgreSQL, JSON text on SQLite.
JsonDoc: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")

#: 64-bit auto-increment keys that are still SQLite rowid aliases.
BigId: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
