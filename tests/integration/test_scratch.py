"""Bulk writes of the storage layer: rows in one statement, writes on a background thread."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Connection, create_engine

from partitur.storage.scratch import Background, insert_rows, temp_table

ROWS = [
    (n, f'name "{n}" – ü\\n', n * 0.25 if n % 3 else None, None if n % 2 else "x")
    for n in range(1500)
]


def _read(conn: Connection, table: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.exec_driver_sql(f"SELECT n, s, f, o FROM {table} ORDER BY n")]


def test_rows_inserted_without_the_gil_read_back_as_with_executemany(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        for table in ("t_many", "t_one"):
            temp_table(conn, table, "n BIGINT, s VARCHAR(100), f DOUBLE PRECISION, o TEXT")
        insert_rows(conn, "t_many", ("n", "s", "f", "o"), ROWS)
        insert_rows(conn, "t_one", ("n", "s", "f", "o"), ROWS, without_gil=True)
        assert _read(conn, "t_one") == _read(conn, "t_many") == ROWS
    engine.dispose()


def test_background_writes_run_in_order_off_the_caller_thread_and_raise_their_error(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        temp_table(conn, "t_log", "n BIGINT")
        threads: set[str] = set()

        def write(n: int) -> None:
            threads.add(threading.current_thread().name)
            conn.exec_driver_sql(f"INSERT INTO t_log (n) VALUES ({n})")

        with Background() as background:
            for n in range(5):
                background.submit(lambda n=n: write(n))  # type: ignore[misc]
        assert [r[0] for r in conn.exec_driver_sql("SELECT n FROM t_log")] == [0, 1, 2, 3, 4]
        assert threads == {"partitur-writes"}

        with pytest.raises(ValueError, match="broken"), Background() as background:
            background.submit(lambda: (_ for _ in ()).throw(ValueError("broken")))
            background.submit(lambda: write(99))  # skipped after the error
        assert 99 not in [r[0] for r in conn.exec_driver_sql("SELECT n FROM t_log")]
    engine.dispose()
