"""Group commit: concurrent requests share one transaction and are answered after it commits."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from partitur.context import Context
from partitur.events import service
from partitur.events.group_commit import event_writer
from partitur.settings import Settings
from partitur.workspaces.service import ensure_source


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


@pytest.fixture
def sqlite_ctx(sqlite_url: str, tmp_path: Path) -> Iterator[Context]:
    context = Context.open(Settings(database_url=sqlite_url, var_dir=tmp_path / "var"))
    yield context
    context.close()


def test_waiting_requests_are_committed_together_and_only_then_answered(
    sqlite_ctx: Context,
) -> None:
    ctx = sqlite_ctx
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        source = ensure_source(conn, workspace_id=ctx.workspace_id, name="web", now=now)
    writer = event_writer(ctx.store, ctx.signals, idle_exit=0.5)
    seen = ctx.signals.version("events")

    def request(i: int) -> service.PreparedBatch:
        return service.prepare(
            [{"type": "track", "userId": f"u{i}", "event": "E"}],
            workspace_id=ctx.workspace_id,
            source_id=source.id,
            received_at=now,
            origin="test",
        )

    # Another writer holds SQLite's write lock, so the first commit has to wait.
    blocker = sqlite3.connect(ctx.store.sqlite_path or "", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    futures = [writer.submit(request(0))]
    wait_until(lambda: writer.waiting == 0)  # the writer took request 0; the lock stops it
    futures += [writer.submit(request(i)) for i in range(1, 20)]
    # while the commit of request 0 waits for the lock, the others pile up and nobody is
    # answered (the writer cannot commit before the blocker lets go)
    assert writer.waiting == 19
    assert not any(f.done() for f in futures)
    blocker.execute("COMMIT")
    blocker.close()
    results = [f.result(timeout=30) for f in futures]
    assert [r.accepted for r in results] == [1] * 20
    assert writer.commits == 2  # request 0 alone, then the 19 that piled up in one transaction
    assert ctx.signals.version("events") > seen  # loops waiting on events are woken
