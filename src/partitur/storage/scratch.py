"""Scratch tables for set-based work inside one transaction, and fast bulk row inserts.

Bulk work (identity resolution, imports) stages rows in a temporary table and then runs one
``UPDATE ... FROM`` / ``INSERT ... SELECT`` instead of a statement per row.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

#: rows per multi-row VALUES statement on engines without a fast executemany (pg8000)
_CHUNK = 2000
#: SQLite: from this many rows on, one INSERT ... SELECT over a JSON array
_ONE_STATEMENT_FROM = 1000


def temp_table(conn: Connection, name: str, columns: str) -> None:
    """(Re)create the temporary table ``name`` with the column list ``columns`` (SQL)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    suffix = "" if conn.dialect.name == "sqlite" else " ON COMMIT DROP"
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({columns}){suffix}")


def insert_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    without_gil: bool = False,
) -> None:
    """Insert plain values (str, int, float, None) into ``table`` as fast as the driver allows.

    ``without_gil`` (SQLite, narrow rows): one ``INSERT ... SELECT`` over a JSON array instead
    of ``executemany``, which binds each row under the GIL. About as fast for a few columns
    (slower for wide rows), and the database does all of it without the GIL: what a write in
    a ``Background`` thread needs while the caller's thread runs Python."""
    if not rows:
        return
    cols = ", ".join(columns)
    if conn.dialect.name == "sqlite":
        if without_gil and len(rows) >= _ONE_STATEMENT_FROM:
            picks = ", ".join(f"json_extract(j.value, '$[{n}]')" for n in range(len(columns)))
            conn.exec_driver_sql(
                f"INSERT INTO {table} ({cols}) SELECT {picks} FROM json_each(?) j",
                (orjson.dumps(rows).decode(),),
            )
            return
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(rows))
        return
    one = "(" + ", ".join("%s" for _ in columns) + ")"
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        params: list[Any] = [v for row in chunk for v in row]
        values = ", ".join(one for _ in chunk)
        conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES {values}", tuple(params))


def db_time(conn: Connection, moment: datetime) -> Any:
    """A datetime as ``insert_rows`` must pass it for a ``UtcDateTime`` column."""
    if conn.dialect.name == "sqlite":
        return _sqlite_time(moment)
    return moment


def _sqlite_time(moment: datetime) -> str:
    # the text SQLAlchemy's SQLite DateTime type writes (sortable, read back by UtcDateTime):
    # YYYY-MM-DD HH:MM:SS.ffffff in UTC (isoformat is several times faster than strftime)
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


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


class Background:
    """Runs a transaction's writes, in order, on one background thread while the caller goes
    on with Python-only work: the database works without the GIL, so on two cores the writes
    and the Python overlap. Use it as a context manager; until it exits the caller must not
    use the connection itself. Leaving waits for every write and raises the first error (the
    caller's own error wins); after an error the remaining writes are skipped."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._failed: list[BaseException] = []
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], object]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="partitur-writes", daemon=True)
            self._thread.start()
        self._jobs.put(job)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._failed:
                continue
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                self._failed.append(exc)

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
        if self._failed and exc[0] is None:
            raise self._failed[0]
