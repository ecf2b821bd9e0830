"""Group commit: one writer thread commits the messages of many concurrent requests at once.

Each HTTP request validates its messages, hands the prepared batch to the writer and waits for
the future. The writer takes everything that is waiting (up to ``max_rows``), writes it in ONE
transaction, commits (an fsync on SQLite with ``synchronous=FULL``), then resolves every
future. Under load, requests pile up while a commit is in flight and the next transaction takes
them all, so the cost of a durable commit is shared; when idle, a lone request is committed at
once (no artificial delay). A request is answered only after its rows are committed.

The thread starts on the first submission and ends after ``idle_exit`` seconds without work,
so nothing lingers when an app (or a test) goes away.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future

from partitur.core.signals import Signals
from partitur.events.contracts import IngestResult
from partitur.events.service import PreparedBatch, write_prepared
from partitur.storage.engine import Store

log = logging.getLogger(__name__)


class GroupCommitWriter:
    def __init__(
        self, store: Store, signals: Signals, *, max_rows: int = 20_000, idle_exit: float = 5.0
    ) -> None:
        self._store = store
        self._signals = signals
        self._max_rows = max_rows
        self._idle_exit = idle_exit
        self._cond = threading.Condition()
        self._pending: deque[tuple[PreparedBatch, Future[IngestResult]]] = deque()
        self._thread: threading.Thread | None = None
        #: how many transactions were committed (observability and tests)
        self.commits = 0

    def submit(self, batch: PreparedBatch) -> Future[IngestResult]:
        """Queue a batch; the future resolves once it is committed (or fails)."""
        future: Future[IngestResult] = Future()
        with self._cond:
            self._pending.append((batch, future))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="partitur-group-commit", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return future

    def _take(self) -> list[tuple[PreparedBatch, Future[IngestResult]]] | None:
        with self._cond:
            if not self._pending:
                self._cond.wait(timeout=self._idle_exit)
            if not self._pending:
                self._thread = None
                return None
            taken = [self._pending.popleft()]
            rows = len(taken[0][0].rows)
            while self._pending and rows + len(self._pending[0][0].rows) <= self._max_rows:
                item = self._pending.popleft()
                rows += len(item[0].rows)
                taken.append(item)
            return taken

    def _run(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            try:
                results = self._commit([batch for batch, _ in taken])
            except Exception:  # noqa: BLE001 - isolate the failing request, keep the others
                log.warning(
                    "group commit failed; committing its %d requests one by one", len(taken)
                )
                for batch, future in taken:
                    self._commit_alone(batch, future)
                continue
            for (_, future), result in zip(taken, results, strict=True):
                future.set_result(result)

    def _commit(self, batches: list[PreparedBatch]) -> list[IngestResult]:
        with self._store.begin() as conn:
            results = [write_prepared(conn, batch) for batch in batches]
        self.commits += 1
        if any(r.accepted for r in results):
            self._signals.notify("events")
        return results

    def _commit_alone(self, batch: PreparedBatch, future: Future[IngestResult]) -> None:
        try:
            future.set_result(self._commit([batch])[0])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request, which answers 500
            future.set_exception(exc)
