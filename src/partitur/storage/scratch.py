"""Scratch tables for set-based work inside one transaction, and fast bulk row inserts.

Bulk work (identity resolution, imports) stages rows in a temporary table and then runs one
``UPDATE ... FROM`` / ``INSERT ... SELECT`` instead of a statement per row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from partitur.storage.background import ONE_STATEMENT

#: rows per multi-row VALUES statement on engines without a fast executemany (pg8000)
_CHUNK = 2000


def temp_table(conn: Connection, name: str, columns: str) -> None:
    """(Re)create the temporary table ``name`` with the column list ``columns`` (SQL)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    suffix = "" if conn.dialect.name == "sqlite" else " ON COMMIT DROP"
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({columns}){suffix}")


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert plain values (str, int, float, None) into ``table`` as fast as the driver allows."""
    if not rows:
        return
    cols = ", ".join(columns)
    if conn.dialect.name == "sqlite" and conn.info.get(ONE_STATEMENT):
        # a few statements of many rows each: SQLite runs each without the GIL, where
        # executemany needs it back for every row (see storage.background)
        _insert_values(conn, f"INSERT INTO {table} ({cols}) VALUES ", len(columns), rows)
        return
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(rows))
        return
    one = "(" + ", ".join("%s" for _ in columns) + ")"
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        params: list[Any] = [v for row in chunk for v in row]
        values = ", ".join(one for _ in chunk)
        conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES {values}", tuple(params))


#: SQLite's limit of bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER, 3.32+)
_SQLITE_PARAMS = 32766


def _insert_values(conn: Connection, head: str, width: int, rows: Sequence[Sequence[Any]]) -> None:
    """``head`` + multi-row VALUES, as many rows per statement as SQLite takes parameters."""
    per = max(1, _SQLITE_PARAMS // width)
    one = "(" + ", ".join("?" for _ in range(width)) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        conn.exec_driver_sql(
            head + ", ".join(one for _ in chunk), tuple(v for row in chunk for v in row)
        )


def db_time(conn: Connection, moment: datetime) -> Any:
    """A datetime as ``insert_rows`` must pass it for a ``UtcDateTime`` column."""
    if conn.dialect.name == "sqlite":
        return sqlite_time(moment)
    return moment


#: "YYYY-MM-DD HH:MM:SS.ffffff": what ``isoformat(" ", "microseconds")`` gives without the
#: offset, at 60 % of its cost (imports format it for every event)
_TIME_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def sqlite_time(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime type writes for ``UtcDateTime`` (UTC, always with
    microseconds; sortable, read back by ``core.types.utc_from_db``)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return _TIME_TEXT % (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


@contextlib.contextmanager
def page_cache(conn: Connection, kib: int) -> Iterator[None]:
    """SQLite: give this connection a page cache of ``kib`` KiB for a block of bulk work (a
    pass that rewrites pages all over a large table would otherwise spill and re-read them),
    then restore its own size. Other engines: nothing."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size={-int(kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")
