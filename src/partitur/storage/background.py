"""A transaction's bulk writes on a thread of their own, while the caller prepares the next.

SQLite (and psycopg) run a statement without holding the GIL, so a long ``UPDATE`` or
``INSERT ... SELECT`` on one thread and Python work on another use both cores. Only single
statements overlap well: ``executemany`` takes the GIL back for every row and would crawl
beside a busy Python thread, so while jobs run, ``storage.bulk.insert_rows`` sends SQLite
thousands of rows per statement (see ``ONE_STATEMENT``).

Other engines run the jobs at once, on the caller's thread.

The caller hands the connection over: between ``submit`` and the end of the block it must not
use it. Jobs run in the order submitted; after one fails the rest are skipped and the block
raises its error, so the transaction rolls back whole.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection

#: ``Connection.info`` key: set while the writer thread owns the connection (bulk inserts
#: then go as few statements of many rows)
ONE_STATEMENT = "partitur.one_statement"


class Writes:
    def __init__(self, pool: ThreadPoolExecutor | None) -> None:
        self._pool = pool
        self._futures: list[Future[Any]] = []
        self._failed = False

    def submit(self, job: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Run ``job(*args, **kwargs)`` after the jobs submitted before it."""
        if self._pool is None:
            job(*args, **kwargs)
            return
        self._futures.append(self._pool.submit(self._run, job, args, kwargs))

    def _run(self, job: Callable[..., Any], args: Any, kwargs: Any) -> None:
        if self._failed:
            return
        try:
            job(*args, **kwargs)
        except BaseException:
            self._failed = True
            raise

    def join(self) -> None:
        """Wait for every job; raise the first error."""
        for future in self._futures:
            future.result()


@contextlib.contextmanager
def background_writes(conn: Connection) -> Iterator[Writes]:
    """Jobs submitted in the block run in order on one thread; the block ends when they have."""
    if conn.dialect.name != "sqlite":
        yield Writes(None)
        return
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="partitur-writes")
    writes = Writes(pool)
    conn.info[ONE_STATEMENT] = True
    try:
        yield writes
    except BaseException:
        writes._failed = True  # skip what has not started; the error below wins
        raise
    finally:
        pool.shutdown(wait=True)
        conn.info.pop(ONE_STATEMENT, None)
    writes.join()
