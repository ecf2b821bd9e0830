"""Hot-path queries on the database driver's own cursor.

A request that runs the same few statements thousands of times a second spends most of its
time in SQLAlchemy building, caching and processing statements, not in the database. Such paths
write their SQL once (``sql()`` fills in the driver's placeholder) and run it here, inside the
same SQLAlchemy transaction, converting values the way the column types would: JSON with
``json_value``, datetimes out with ``core.types.utc_from_db`` and in with
``storage.bulk.db_time``. Everything else keeps using SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection


def sql(conn: Connection, text: str) -> str:
    """``text`` with each ``?`` turned into the driver's placeholder (``%s`` for pg8000).
    Write SQL without literal question marks."""
    return text if conn.dialect.name == "sqlite" else text.replace("?", "%s")


def rows(conn: Connection, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """All rows of ``statement`` (from ``sql()``) as plain tuples."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def execute(conn: Connection, statement: str, params: Sequence[Any]) -> None:
    """Run one write statement (from ``sql()``)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement, tuple(params))
    finally:
        cursor.close()


def json_value(value: Any) -> Any:
    """A JSON column as read by the driver: text on SQLite, already decoded on PostgreSQL."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value
