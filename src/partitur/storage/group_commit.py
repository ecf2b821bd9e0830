"""Group commit: one writer thread commits the work of many concurrent requests at once.

Each request prepares its item (validated rows, an impression, ...), hands it to the writer and
waits for the future. The writer takes everything that is waiting (up to ``max_rows``), writes it
in ONE transaction with the domain's ``write`` function, commits (an fsync on SQLite with
``synchronous=FULL``), then resolves every future. Under load, requests pile up while a commit is
in flight and the next transaction takes them all, so the cost of a durable commit is shared;
when idle, a lone request is committed at once (no artificial delay). A request is answered only
after its rows are committed.

If a shared transaction fails, each of its items is retried alone, so one bad item fails only
its own request. The thread starts on the first submission and ends after ``idle_exit`` seconds
without work, so nothing lingers when an app (or a test) goes away.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from sqlalchemy import Connection

from partitur.storage.engine import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class GroupCommitWriter(Generic[T, R]):
    """``write(conn, items) -> results`` (one result per item, in order) runs in the writer's
    transaction; ``after_commit(results)`` runs once it is committed (e.g. to wake loops);
    ``size(item)`` is how many rows an item writes (``max_rows`` bounds a transaction)."""

    def __init__(
        self,
        store: Store,
        write: Callable[[Connection, list[T]], list[R]],
        *,
        size: Callable[[T], int] = lambda _: 1,
        after_commit: Callable[[list[R]], None] | None = None,
        max_rows: int = 20_000,
        idle_exit: float = 5.0,
        name: str = "partitur-group-commit",
    ) -> None:
        self._store = store
        self._write = write
        self._size = size
        self._after_commit = after_commit
        self._max_rows = max_rows
        self._idle_exit = idle_exit
        self._name = name
        self._cond = threading.Condition()
        self._pending: deque[tuple[T, Future[R]]] = deque()
        self._thread: threading.Thread | None = None
        #: how many transactions were committed (observability and tests)
        self.commits = 0

    @property
    def waiting(self) -> int:
        """Items submitted and not yet taken into a transaction (observability and tests)."""
        with self._cond:
            return len(self._pending)

    def submit(self, item: T) -> Future[R]:
        """Queue an item; the future resolves once it is committed (or fails)."""
        future: Future[R] = Future()
        with self._cond:
            self._pending.append((item, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()
        return future

    def _take(self) -> list[tuple[T, Future[R]]] | None:
        with self._cond:
            if not self._pending:
                self._cond.wait(timeout=self._idle_exit)
            if not self._pending:
                self._thread = None
                return None
            taken = [self._pending.popleft()]
            rows = self._size(taken[0][0])
            while self._pending and rows + self._size(self._pending[0][0]) <= self._max_rows:
                item = self._pending.popleft()
                rows += self._size(item[0])
                taken.append(item)
            return taken

    def _run(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            try:
                results = self._commit([item for item, _ in taken])
            except Exception:  # noqa: BLE001 - isolate the failing request, keep the others
                log.warning("group commit failed; committing its %d items one by one", len(taken))
                for item, future in taken:
                    self._commit_alone(item, future)
                continue
            for (_, future), result in zip(taken, results, strict=True):
                future.set_result(result)

    def _commit(self, items: list[T]) -> list[R]:
        with self._store.begin() as conn:
            results = self._write(conn, items)
        self.commits += 1
        if self._after_commit is not None:
            self._after_commit(results)
        return results

    def _commit_alone(self, item: T, future: Future[R]) -> None:
        try:
            future.set_result(self._commit([item])[0])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request, which answers 500
            future.set_exception(exc)
