"""The store's bulk tricks, in one place: scratch tables, fast many-row inserts, the SQLite
time text, index rebuilds for a backlog and seq-ordered staging.

Bulk work (identity resolution, imports, the journey shell) stages rows in a temporary table
and then runs one ``UPDATE ... FROM`` / ``INSERT ... SELECT`` instead of a statement per row.
On SQLite the rows go straight to the driver: SQLAlchemy Core's per-row parameter processing
costs more than the insert itself.

- ``temp_table``, ``int_key``: scratch tables.
- ``insert_rows``, ``insert_columns``: plain values (as JSON documents on a background
  writer); ``bulk_insert``, ``bulk_update_checked``: rows as dicts, values converted as the
  column types would.
- ``db_time``, ``db_times``, ``sqlite_time``: the one SQLite time text of ``UtcDateTime``.
- ``rebuilt_indexes``: indexes built afresh around a statement that writes most of a table.
- ``dense_by_key``, ``insert_dense``: many keys staged in key order as one array.
- ``page_cache``: a larger SQLite page cache for a block of bulk work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, Table

from partitur.core import jsonutil
from partitur.storage.background import ONE_STATEMENT

#: rows per multi-row VALUES statement on PostgreSQL
_CHUNK = 2000


def temp_table(conn: Connection, name: str, columns: str) -> None:
    """(Re)create the temporary table ``name`` with the column list ``columns`` (SQL)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    suffix = "" if conn.dialect.name == "sqlite" else " ON COMMIT DROP"
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({columns}){suffix}")


def int_key(conn: Connection) -> str:
    """The column type of an integer primary key of a scratch table: on SQLite the rowid
    itself (``INTEGER PRIMARY KEY``; ``BIGINT`` would get a second b-tree to keep up and look
    up through: 1,000,000 event assignments took 2.0-2.7 s to apply instead of 1.1-1.3 s)."""
    return "INTEGER PRIMARY KEY" if conn.dialect.name == "sqlite" else "BIGINT PRIMARY KEY"


def insert_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    same: Mapping[str, Any] | None = None,
) -> None:
    """Insert plain values (str, int, float, None) into ``table`` as fast as the driver allows;
    ``same`` gives columns that hold one value in every row."""
    if not rows:
        return
    fixed = dict(same or {})
    if (
        conn.dialect.name == "sqlite"
        and conn.info.get(ONE_STATEMENT)
        and len(columns) <= _JSON_WIDTH
        and _insert_json(conn, table, columns, rows, fixed)
    ):
        return
    if fixed:
        tail = tuple(fixed.values())
        rows = [(*row, *tail) for row in rows]
        columns = [*columns, *fixed]
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    if conn.dialect.name != "sqlite":
        _insert_values(conn, head, "%s", len(columns), rows, _CHUNK)
        return
    # multi-row VALUES: twice the rate of executemany for narrow rows. A background writer
    # (see storage.background) sends as many rows per statement as SQLite takes parameters,
    # since each statement costs it one wait for the GIL
    rows_per = _SQLITE_PARAMS // len(columns) if conn.info.get(ONE_STATEMENT) else 500
    _insert_values(conn, head, "?", len(columns), rows, rows_per)


#: rows per JSON document (bounds the memory of one statement)
_JSON_ROWS = 100_000
#: the widest rows that go as JSON: SQLite parses a row's array once per column, so wider
#: rows are faster bound value by value (measured: 5 columns twice, 13 three times as slow)
_JSON_WIDTH = 3
#: only plain values go as JSON: datetimes and subclasses of str/int raise (and are bound)
_PLAIN = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def _insert_json(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fixed: Mapping[str, Any],
) -> bool:
    """SQLite on a background writer (see storage.background): narrow rows as one JSON array
    of arrays per statement, spread by ``json_each``. As fast as multi-row VALUES on its own
    (450,000 rows of three), but the writer needs the GIL only to encode the document, not to
    bind every value: beside a busy Python thread, binding waits for the GIL again and again.
    False (nothing written) where a value is not plain."""
    picks = ", ".join(f"json_extract(j.value, '$[{n}]')" for n in range(len(columns)))
    picks += "".join(", ?" for _ in fixed)
    sql = (
        f"INSERT INTO {table} ({', '.join([*columns, *fixed])}) SELECT {picks} FROM json_each(?) j"
    )
    try:
        docs = [
            orjson.dumps(rows[start : start + _JSON_ROWS], option=_PLAIN).decode()
            for start in range(0, len(rows), _JSON_ROWS)
        ]
    except TypeError:
        return False
    for doc in docs:
        conn.exec_driver_sql(sql, (*fixed.values(), doc))
    return True


#: SQLite's limit of bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER, 3.32+)
_SQLITE_PARAMS = 32766


def _insert_values(
    conn: Connection,
    head: str,
    mark: str,
    width: int,
    rows: Sequence[Sequence[Any]],
    rows_per: int,
) -> None:
    """``head`` + multi-row VALUES of up to ``rows_per`` rows per statement."""
    per = max(1, min(rows_per, _SQLITE_PARAMS // width))
    one = "(" + ", ".join(mark for _ in range(width)) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        conn.exec_driver_sql(
            head + ", ".join(one for _ in chunk), tuple(chain.from_iterable(chunk))
        )


def insert_columns(
    conn: Connection,
    table: str,
    columns: Mapping[str, Sequence[Any]],
    *,
    same: Mapping[str, Any] | None = None,
) -> None:
    """``insert_rows`` for rows given as one sequence per column (of equal lengths): what
    bulk work builds when it keeps columns rather than an object per row."""
    insert_rows(conn, table, list(columns), list(zip(*columns.values(), strict=True)), same=same)


def db_time(conn: Connection, moment: datetime) -> Any:
    """A datetime as ``insert_rows`` must pass it for a ``UtcDateTime`` column."""
    if conn.dialect.name == "sqlite":
        return sqlite_time(moment)
    return moment


def db_times(dialect: str) -> Callable[[datetime | None], Any]:
    """``db_time`` for many values on the engine ``dialect`` (``conn.dialect.name``), None
    passed through: the engine is looked up once for a bulk of rows, not once per value; and
    rows are formatted without the connection, which a background writer may own meanwhile."""
    if dialect == "sqlite":
        return lambda moment: None if moment is None else sqlite_time(moment)
    return lambda moment: moment


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


#: the smallest batch for which ``rebuilt_indexes`` considers a rebuild (below it, the DDL
#: and every connection's re-prepared statements cost more than the random inserts)
REBUILD_MIN_ROWS = 50_000


@contextlib.contextmanager
def rebuilt_indexes(
    conn: Connection, table: str, names: Sequence[str], *, rows: int, adds: bool = False
) -> Iterator[None]:
    """SQLite: around a statement that writes ``rows`` entries into each of the indexes
    ``names`` of ``table`` (a rowid table), adding that many rows to it or (``adds`` False)
    changing that many of its rows, drop those indexes first and build them again afterwards
    when the batch is at least half the table. Building an index is one sort of the table;
    keeping it up is a random b-tree insert per row (1,000,000 events assigned to profiles:
    1.1 s to build the timeline index, 2.5-3 s to maintain it; 250,000 new profiles: 1.3 s
    to write and index instead of 2.0-2.3 s).

    The indexes are rebuilt from their own stored definitions, inside the caller's
    transaction: readers keep seeing the old index until the commit, and an error or crash
    rolls the drop back with everything else. Other engines, or smaller batches: nothing."""
    if conn.dialect.name != "sqlite" or rows < REBUILD_MIN_ROWS:
        yield
        return
    # the span of rowids: two lookups, where counting rows would read a whole index (gaps
    # left by deleted rows only make a rebuild less likely). Two subqueries: SQLite looks a
    # lone min() or max() up at the end of the b-tree, but scans the table for both at once.
    low, high = conn.exec_driver_sql(
        f"SELECT (SELECT min(rowid) FROM {table}), (SELECT max(rowid) FROM {table})"
    ).one()
    held = 0 if low is None else int(high) - int(low) + 1
    if rows * 2 < held + (rows if adds else 0):
        yield
        return
    marks = ", ".join("?" for _ in names)
    found = conn.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        f"AND name IN ({marks}) AND sql IS NOT NULL ORDER BY name",
        (table, *names),
    ).all()
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _, definition in found:
        conn.exec_driver_sql(definition)


# -- rows as dicts (the journey shell) ---------------------------------------------------------


def _sqlite_rows(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Rows as driver tuples, each value as the column type would store it on SQLite (times as
    ``sqlite_time``, documents as JSON text); repeated datetimes (most rows share ``now``)
    convert once."""
    seen: dict[datetime, str] = {}

    def convert(value: Any) -> Any:
        if value is None or isinstance(value, str | int | float):
            return value
        if isinstance(value, datetime):
            text = seen.get(value)
            if text is None:
                text = seen[value] = sqlite_time(value)
            return text
        if isinstance(value, dict | list):
            return jsonutil.dumps_str(value)
        return value

    return [tuple(convert(r[c]) for c in columns) for r in rows]


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows of the same shape (dicts of column values). On SQLite the rows go
    straight to the driver; values are converted exactly as the column types would."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), list(rows))
        return
    columns = list(rows[0])
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    conn.exec_driver_sql(sql, _sqlite_rows(rows, columns))


def bulk_update_checked(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str,
    check: str,
    bump: str,
) -> int:
    """Update many rows by ``key`` only where ``check`` still has the value given in the row
    (optimistic concurrency), setting ``bump`` to ``check + 1``. Returns rows updated; the
    caller compares with ``len(rows)``."""
    if not rows:
        return 0
    columns = [c for c in rows[0] if c not in (key, check)]
    if conn.dialect.name != "sqlite":
        updated = 0
        for r in rows:
            result = conn.execute(
                table.update()
                .where(table.c[key] == r[key], table.c[check] == r[check])
                .values({c: r[c] for c in columns} | {bump: r[check] + 1})
            )
            updated += result.rowcount
        return updated
    sets = ", ".join(f"{c} = ?" for c in columns)
    sql = f"UPDATE {table.name} SET {sets}, {bump} = {check} + 1 WHERE {key} = ? AND {check} = ?"
    cursor = conn.exec_driver_sql(
        sql,
        [
            (*values, r[key], r[check])
            for values, r in zip(_sqlite_rows(rows, columns), rows, strict=True)
        ],
    )
    return int(cursor.rowcount)


# -- many keys staged in key order ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DenseKeys:
    """The value of every integer key from ``first`` on, None for the keys in between that
    have none (see ``dense_by_key``)."""

    first: int
    values: list[Any]


def dense_by_key(groups: Sequence[str], values: Sequence[Any]) -> DenseKeys | None:
    """Groups of integer keys, each as comma-separated text (SQLite's ``group_concat``), and
    one value per group, as the value of every key from the lowest to the highest. None when
    there is nothing, or when the keys in between that no group holds would outnumber the
    keys (sparse: a row per group is cheaper then). Raises ``ValueError`` for keys that are
    not integers.

    Parsed and placed by numpy in C: callers run it on a background writer, beside a busy
    main thread (0.1 s of the GIL for 1,000,000 keys instead of 0.24 s in Python)."""
    if not groups:
        return None
    counts = [text.count(",") + 1 for text in groups]
    keys = np.fromstring(",".join(groups), dtype=np.int64, sep=",")
    if len(keys) != sum(counts):
        raise ValueError("keys are not comma-separated integers")
    first = int(keys.min())
    span = int(keys.max()) - first + 1
    if span > 2 * len(keys) + 1024:
        return None
    owner = np.full(span, -1, dtype=np.int64)  # -1: the None at the end of ``held``
    owner[keys - first] = np.repeat(np.arange(len(groups), dtype=np.int64), counts)
    held = np.array([*values, None], dtype=object)
    return DenseKeys(first, held[owner].tolist())


def insert_dense(conn: Connection, table: str, columns: tuple[str, str], dense: DenseKeys) -> None:
    """SQLite: insert a (key, value) row for every key of ``dense`` that has a value, as one
    JSON array: the rows enter the table's b-tree in key order (staging 1,000,000 event
    assignments so took a fifth of the time of spreading each group's keys, which arrive in
    random order)."""
    key, value = columns
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({key}, {value}) SELECT j.key + ?, j.value "
        "FROM json_each(?) j WHERE j.value IS NOT NULL",
        (dense.first, orjson.dumps(dense.values)),
    )
