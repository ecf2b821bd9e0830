"""The store: one engine and connection discipline for SQLite (WAL) and PostgreSQL.

Writers use ``store.begin()`` (on SQLite a ``BEGIN IMMEDIATE`` transaction, so two writers never
deadlock on a lock upgrade); readers use ``store.read()``. Both are context managers yielding a
SQLAlchemy ``Connection``; leaving the block commits, an exception rolls back.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

#: where actions leave the topics to notify once their transaction commits (core.actions)
WAKES_KEY = "partitur.wakes"


def notify_after_commit(conn: Connection, *topics: str) -> None:
    """Have the store notify ``topics`` once the write transaction of ``conn`` commits (the
    loops waiting on them wake at once; nothing is notified if it rolls back)."""
    conn.info.setdefault(WAKES_KEY, set()).update(topics)


class Store:
    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "FULL",
        pool_size: int = 8,
        snapshot_max_staleness: float = 0.0,
    ) -> None:
        self.url = url
        self.snapshot_max_staleness = snapshot_max_staleness
        self._snapshot_lock = threading.Lock()
        self._snapshot: tuple[str, float] | None = None
        # SQLite has one writer at a time. Threads of this process queue here, woken the moment
        # the writer before them commits, instead of in SQLite's busy handler, which polls with
        # sleeps of up to 100 ms (measured: p99 1.8 s for offer decisions from 40 threads).
        # Re-entrant so a nested begin() in one thread fails in SQLite as before, not here.
        self._write_lock = threading.RLock()
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"future": True}
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 60}
            if database in ("", ":memory:"):
                raise ValueError("partitur needs a file-backed SQLite database (WAL mode)")
            # Opening a SQLite connection runs its PRAGMAs; keep enough of them for the API's
            # thread pool so busy periods do not open and close overflow connections per call.
            kwargs["pool_size"] = max(pool_size, 24)
            kwargs["max_overflow"] = 16
            # the connection used last comes back first: its page cache is the warm one
            kwargs["pool_use_lifo"] = True
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = 16
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        #: called after a write transaction commits with the wake-up topics its actions named
        #: (``core.actions.wake``); the context points it at its signals
        self.on_commit: Callable[[set[str]], None] | None = None
        self._checkpointer: _Checkpointer | None = None
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, sqlite_synchronous)
            self._checkpointer = _Checkpointer(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sqlite_path(self) -> str | None:
        """The database file for SQLite stores (DuckDB attaches it for analytics)."""
        return make_url(self.url).database if self.is_sqlite else None

    @contextlib.contextmanager
    def begin(self, *, bulk: bool = False) -> Iterator[Connection]:
        """A write transaction (on SQLite, one thread of this process at a time).

        ``bulk``: a large transaction (a backlog pass of identity resolution). On SQLite its
        commit does not copy the WAL into the database file itself, as SQLite's automatic
        checkpoint would (measured: 1.2-1.5 s after a pass over 1M events); a thread of the
        store's own does, beside the next readers and writers (see ``wait_checkpoint``).
        """
        if self.dialect != "sqlite":
            with self.engine.connect() as conn:
                with conn.begin():
                    yield conn
                self._committed(conn)
            return
        with self._write_lock, self.engine.connect() as conn:
            if not bulk or self._checkpointer is None:
                with conn.begin():
                    yield conn
                self._committed(conn)
                return
            raw = conn.connection.driver_connection
            pages = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]  # type: ignore[union-attr]
            raw.execute("PRAGMA wal_autocheckpoint=0")  # type: ignore[union-attr]
            try:
                with conn.begin():
                    yield conn
            finally:
                raw.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")  # type: ignore[union-attr]
                self._checkpointer.request()
            self._committed(conn)

    @contextlib.contextmanager
    def bulk_writing(self) -> Iterator[None]:
        """Mark a bulk write (an import) for its duration, for every process on this SQLite
        store: background work that would compete with it for SQLite's single writer (identity
        resolution) waits until it ends, then catches up (see ``bulk_writer_active``). The mark
        is a shared advisory lock on a file beside the database, so it ends with the process
        that holds it, however that ends. On other engines writers do not queue: nothing."""
        path = self._bulk_marker()
        if path is None:
            yield
            return
        with open(path, "ab") as marker:
            fcntl.flock(marker, fcntl.LOCK_SH)  # imports may run side by side
            try:
                yield
            finally:
                fcntl.flock(marker, fcntl.LOCK_UN)

    def bulk_writer_active(self) -> bool:
        """Whether some process is in ``bulk_writing`` on this store (a system call, no
        query)."""
        path = self._bulk_marker()
        if path is None or not os.path.exists(path):
            return False
        with open(path, "ab") as marker:
            try:
                fcntl.flock(marker, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(marker, fcntl.LOCK_UN)
            return False

    def watch_commits(
        self, on_change: Callable[[], None], stop: threading.Event, every: float = 0.1
    ) -> threading.Thread | None:
        """On SQLite, call ``on_change`` within ``every`` seconds of any commit to the database
        by any process (``PRAGMA data_version`` on a connection of the watcher's own: one cheap
        read per look, nothing while no one writes), until ``stop`` is set; returns the
        watching thread. Loops of this process wake at once for work that another process
        (``partitur import events``, a second API process) committed. While a bulk write is
        under way (``bulk_writing``) the commits are its own: one call follows its end instead
        of one per chunk. Other engines: None (they wake through Redis,
        ``PARTITUR_REDIS_URL``)."""
        path = self.sqlite_path
        if path is None:
            return None

        def watch() -> None:
            conn = sqlite3.connect(path, check_same_thread=False)
            try:
                seen = conn.execute("PRAGMA data_version").fetchone()[0]
                deferred = False
                while not stop.wait(every):
                    version = conn.execute("PRAGMA data_version").fetchone()[0]
                    changed, seen = version != seen, version
                    if (changed or deferred) and self.bulk_writer_active():
                        deferred = True
                    elif changed or deferred:
                        deferred = False
                        on_change()
            except sqlite3.Error as exc:  # the loops still poll; only their latency suffers
                log.warning("watching the store for commits stopped: %s", exc)
            finally:
                conn.close()

        thread = threading.Thread(target=watch, name="partitur-commit-watch", daemon=True)
        thread.start()
        return thread

    def _bulk_marker(self) -> str | None:
        path = self.sqlite_path
        return f"{path}-bulk.lock" if path else None

    def _committed(self, conn: Connection) -> None:
        topics: set[str] | None = conn.info.pop(WAKES_KEY, None)
        if topics and self.on_commit is not None:
            self.on_commit(topics)

    def wait_checkpoint(self, timeout: float | None = None) -> bool:
        """Wait until the checkpoints that bulk transactions asked for are done (SQLite;
        other engines: at once). False if ``timeout`` ran out first."""
        return True if self._checkpointer is None else self._checkpointer.wait(timeout)

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only unit of work (deferred transaction on SQLite, never takes the write lock)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(partitur_read=True)
            with conn.begin():
                yield conn

    def sqlite_snapshot(self) -> str:
        """A consistent read-only copy of the SQLite database for DuckDB to attach.

        DuckDB's SQLite reader is a second copy of the SQLite library inside this process.
        SQLite's locks are per process, so that copy cannot see this one's locks: opening the
        live WAL database from it resets the shared-memory WAL index under this process's feet
        (a crash with SIGBUS, or worse, corruption). So DuckDB reads a copy made with SQLite's
        own backup API through this process's library, replaced atomically; a new copy is made
        for every caller unless ``snapshot_max_staleness`` allows reusing a recent one.
        """
        path = self.sqlite_path
        if not path:
            raise ValueError("only SQLite stores have snapshots")
        with self._snapshot_lock:
            if self._snapshot is not None:
                copy, made_at = self._snapshot
                if time.monotonic() - made_at < self.snapshot_max_staleness and os.path.exists(
                    copy
                ):
                    return copy
            copy = f"{path}.analytics"
            scratch = f"{copy}.{os.getpid()}.{threading.get_ident()}.tmp"
            raw = self.engine.raw_connection()
            try:
                source = raw.driver_connection
                target = sqlite3.connect(scratch)
                try:
                    source.backup(target)  # type: ignore[union-attr]
                    # the copy is read by DuckDB alone: a plain rollback-journal file
                    target.execute("PRAGMA journal_mode=DELETE")
                finally:
                    target.close()
            finally:
                raw.close()
            os.replace(scratch, copy)
            self._snapshot = (copy, time.monotonic())
            return copy

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.engine.dispose()


class _Checkpointer:
    """Copies the SQLite WAL into the database file on a thread of its own when asked: a
    ``PASSIVE`` checkpoint on its own connection, which runs beside readers and writers and
    never blocks them (SQLite does the copy without the GIL). Requests made while one runs are
    folded into one more run."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._closing = False
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._idle.clear()
            self._wanted.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="partitur-checkpoints", daemon=True
                )
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    def close(self) -> None:
        with self._lock:
            self._closing = True
            self._wanted.set()
            thread = self._thread
        if thread is not None:
            thread.join()
        self._idle.set()

    def _run(self) -> None:
        raw = self._engine.raw_connection()  # autocommit: the PRAGMA runs outside a transaction
        try:
            while True:
                self._wanted.wait()
                with self._lock:
                    if self._closing:
                        return
                    self._wanted.clear()
                try:
                    raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # a later request tries again
                    log.warning("WAL checkpoint failed: %s", exc)
                with self._lock:
                    if not self._wanted.is_set():
                        self._idle.set()
        finally:
            raw.close()


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    level = synchronous.upper()
    if level not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(
            f"sqlite_synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous}"
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={level}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("partitur_read"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_store(url: str, **kwargs: Any) -> Store:
    return Store(url, **kwargs)


def null_pool_engine(url: str) -> Engine:
    """An engine without pooling, for one-shot tools (migrations)."""
    return create_engine(url, poolclass=NullPool, future=True)
