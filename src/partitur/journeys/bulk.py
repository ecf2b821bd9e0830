"""Bulk inserts for the journey shell's hot paths."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table

from partitur.core import jsonutil


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # the storage format of SQLAlchemy's SQLite DateTime (what UtcDateTime writes)
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, dict | list):
        return jsonutil.dumps_str(value)
    return value


def _sqlite_rows(rows: list[dict[str, Any]], columns: list[str]) -> list[tuple[Any, ...]]:
    """Rows as driver tuples; repeated datetimes (most rows share ``now``) convert once."""
    seen: dict[datetime, str] = {}

    def convert(value: Any) -> Any:
        if value is None or isinstance(value, str | int | float):
            return value
        if isinstance(value, datetime):
            text = seen.get(value)
            if text is None:
                text = seen[value] = _sqlite_value(value)
            return text
        return _sqlite_value(value)

    return [tuple(convert(r[c]) for c in columns) for r in rows]


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows of the same shape. On SQLite the rows go straight to the driver (the
    per-row parameter processing of SQLAlchemy Core costs more than the insert itself); values
    are converted exactly as the column types would."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
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
    rows: list[dict[str, Any]],
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
