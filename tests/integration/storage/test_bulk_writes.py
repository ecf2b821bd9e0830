"""Bulk transactions: background writes, many-row inserts and the side-thread WAL checkpoint."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection

from partitur.storage import bulk as scratch
from partitur.storage.background import ONE_STATEMENT, background_writes
from partitur.storage.bulk import insert_rows, rebuilt_indexes, temp_table
from partitur.storage.engine import Store

ROWS = [(n, f"text {n}", n / 4, None if n % 3 else "x", n % 2 == 0) for n in range(20_000)]


#: what the tests read back: the values and SQLite's types of them
STORED = "n, t, r, maybe, flag, typeof(n), typeof(r), typeof(maybe)"


def _stored(store: Store, table: str, columns: str = STORED) -> list[tuple[object, ...]]:
    with store.read() as conn:
        return [
            tuple(row) for row in conn.exec_driver_sql(f"SELECT {columns} FROM {table} ORDER BY n")
        ]


def test_many_row_statements_store_what_executemany_stores(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    columns = ("n", "t", "r", "maybe", "flag")
    with store.begin() as conn:
        for table in ("plain", "many"):
            conn.exec_driver_sql(f"CREATE TABLE {table} (n INTEGER, t TEXT, r REAL, maybe, flag)")
        insert_rows(conn, "plain", columns, ROWS)
        conn.info[ONE_STATEMENT] = True  # as in background_writes: 20,000 rows, 4 statements
        try:
            insert_rows(conn, "many", columns, ROWS)
        finally:
            conn.info.pop(ONE_STATEMENT)
    plain = _stored(store, "plain")
    assert len(plain) == len(ROWS)
    assert _stored(store, "many") == plain
    store.dispose()


NARROW = [
    (n, ["7", '{"a": 1}', "Grüße ✓", 'quote " and \\ slash', None][n % 5], [n / 8, None][n % 2])
    for n in range(10_000)
]


NARROW_STORED = "n, t, r, ws, at, typeof(n), typeof(t), typeof(r)"


def test_narrow_rows_on_a_writer_go_as_json_and_store_what_bound_values_store(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'n.db'}")
    same = {"ws": "ws_1", "at": "2026-12-07 10:00:00.000000"}
    with store.begin() as conn:
        for table in ("bound", "json"):
            conn.exec_driver_sql(f"CREATE TABLE {table} (n INTEGER, t TEXT, r REAL, ws, at)")
        insert_rows(conn, "bound", ("n", "t", "r"), NARROW, same=same)
        conn.info[ONE_STATEMENT] = True
        try:
            insert_rows(conn, "json", ("n", "t", "r"), NARROW, same=same)
        finally:
            conn.info.pop(ONE_STATEMENT)
    bound = _stored(store, "bound", NARROW_STORED)
    assert len(bound) == len(NARROW)
    assert bound[1][1:5] == ('{"a": 1}', None, "ws_1", "2026-12-07 10:00:00.000000")
    assert bound[2][2] == 0.25
    assert bound[0][6] == "text"  # "7" stays text in a TEXT column
    assert _stored(store, "json", NARROW_STORED) == bound
    store.dispose()


def test_values_json_cannot_carry_are_bound_instead(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE odd (n INTEGER, payload)")
        conn.info[ONE_STATEMENT] = True
        try:
            insert_rows(conn, "odd", ("n", "payload"), [(1, b"\x00raw"), (2, "text")])
        finally:
            conn.info.pop(ONE_STATEMENT)
    with store.read() as conn:
        rows = list(conn.exec_driver_sql("SELECT n, payload, typeof(payload) FROM odd ORDER BY n"))
    assert [tuple(r) for r in rows] == [(1, b"\x00raw", "blob"), (2, "text", "text")]
    store.dispose()


def test_background_jobs_run_in_order_on_another_thread(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    threads: list[str] = []

    def step(conn: Connection, n: int) -> None:
        threads.append(threading.current_thread().name)
        insert_rows(conn, "steps", ("n",), [(n,)])

    with store.begin() as conn:
        temp_table(conn, "steps", "n INTEGER")
        with background_writes(conn) as writes:
            for n in range(5):
                writes.submit(step, conn, n)
        assert ONE_STATEMENT not in conn.info  # the connection is the caller's again
        order = [r[0] for r in conn.exec_driver_sql("SELECT n FROM steps ORDER BY rowid")]
    assert order == [0, 1, 2, 3, 4]
    assert threads and all(name != threading.current_thread().name for name in threads)
    store.dispose()


def test_a_failed_job_skips_the_rest_and_rolls_the_transaction_back(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE kept (n INTEGER)")
    ran: list[int] = []

    def write(conn: Connection, n: int) -> None:
        ran.append(n)
        if n == 1:
            conn.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")
        insert_rows(conn, "kept", ("n",), [(n,)])

    with (
        pytest.raises(Exception, match="no_such_table"),
        store.begin() as conn,
        background_writes(conn) as writes,
    ):
        for n in range(3):
            writes.submit(write, conn, n)
    assert ran == [0, 1]  # the job after the failed one never ran
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM kept").scalar_one() == 0
    store.dispose()


def test_a_bulk_transaction_leaves_its_checkpoint_to_the_store(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    store = Store(f"sqlite:///{path}", sqlite_synchronous="NORMAL")
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE big (n INTEGER, t TEXT)")
    with store.begin(bulk=True) as conn:
        insert_rows(conn, "big", ("n", "t"), [(n, "x" * 200) for n in range(50_000)])
        conn_id = id(conn.connection.driver_connection)
    assert any(t.name == "partitur-checkpoints" for t in threading.enumerate())
    assert store.wait_checkpoint(timeout=30)
    # everything the bulk transaction wrote is in the database file itself now
    with sqlite3.connect(path) as other:
        busy, frames, done = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and frames == done
    # and the connection's own automatic checkpoints are back on
    with store.begin() as conn:
        assert id(conn.connection.driver_connection) == conn_id
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 1000
        assert conn.exec_driver_sql("SELECT count(*) FROM big").scalar_one() == 50_000
    store.dispose()


LOG_INDEX = "CREATE INDEX ix_log_owner ON log (owner, at) WHERE owner IS NOT NULL"


def _log_indexes(conn: Connection) -> list[tuple[str, str]]:
    return [
        tuple(row)
        for row in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log'"
        )
    ]


def _log_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setattr(scratch, "REBUILD_MIN_ROWS", 100)
    store = Store(f"sqlite:///{tmp_path / 'log.db'}")
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE log (n INTEGER PRIMARY KEY, owner TEXT, at TEXT)")
        conn.exec_driver_sql(LOG_INDEX)
        insert_rows(conn, "log", ("n", "owner", "at"), [(n, None, f"t{n:04}") for n in range(1000)])
    return store


def test_a_batch_of_most_of_a_table_rebuilds_its_index_from_the_stored_definition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _log_store(tmp_path, monkeypatch)
    with store.begin() as conn:
        before = _log_indexes(conn)
        with rebuilt_indexes(conn, "log", ["ix_log_owner"], rows=600):
            assert _log_indexes(conn) == []  # not maintained row by row meanwhile
            conn.exec_driver_sql("UPDATE log SET owner = 'p' || (n % 7) WHERE n < 600")
    with store.read() as conn:
        assert _log_indexes(conn) == before == [("ix_log_owner", LOG_INDEX)]
        plan = " ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT at FROM log WHERE owner = 'p3' ORDER BY at"
            )
        )
        assert "ix_log_owner" in plan
        found = conn.exec_driver_sql("SELECT at FROM log WHERE owner = 'p3' ORDER BY at")
        assert [row[0] for row in found] == [f"t{n:04}" for n in range(600) if n % 7 == 3]
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    store.dispose()


def test_a_small_batch_keeps_the_index_and_a_failed_one_rolls_the_drop_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _log_store(tmp_path, monkeypatch)
    with (
        store.begin() as conn,
        rebuilt_indexes(conn, "log", ["ix_log_owner"], rows=400),
    ):
        assert _log_indexes(conn) == [("ix_log_owner", LOG_INDEX)]  # under half: kept
    with (
        store.begin() as conn,
        rebuilt_indexes(conn, "log", ["ix_log_owner"], rows=999, adds=True),
    ):
        assert _log_indexes(conn) == [("ix_log_owner", LOG_INDEX)]  # fewer than were there
    with (
        store.begin() as conn,
        rebuilt_indexes(conn, "log", ["ix_log_owner"], rows=1000, adds=True),
    ):
        assert _log_indexes(conn) == []  # as many new rows as there were
    with (
        pytest.raises(RuntimeError, match="midway"),
        store.begin() as conn,
        rebuilt_indexes(conn, "log", ["ix_log_owner"], rows=900),
    ):
        conn.exec_driver_sql("UPDATE log SET owner = 'x'")
        raise RuntimeError("midway")
    with store.read() as conn:
        assert _log_indexes(conn) == [("ix_log_owner", LOG_INDEX)]
        assert conn.exec_driver_sql("SELECT count(owner) FROM log").scalar_one() == 0
    store.dispose()
