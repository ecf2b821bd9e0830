"""Background loops cost nothing when there is nothing to do: once a loop has caught up, its
passes only read, so they finish while another process holds SQLite's write lock (a pass that
tried to write would wait for it)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.journeys import service as journeys
from partitur.settings import Settings
from partitur.worker import build_loops
from tests.support.journeys import add_events, add_profile, add_templates

WELCOME = {
    "key": "welcome",
    "name": "Welcome",
    "entry": {"type": "event", "event": "Signed Up"},
    "start": "wait",
    "nodes": [
        {"id": "wait", "type": "wait", "duration": "P1D", "next": "hello"},
        {"id": "hello", "type": "send", "channel": "email", "template": "hello"},
    ],
}


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    context = Context.open(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'idle.db'}",
            var_dir=tmp_path / "var",
            sqlite_synchronous="NORMAL",
        )
    )
    yield context
    context.close()


def _finishes_within(seconds: float, work: object) -> bool:
    done = threading.Event()

    def run() -> None:
        work()  # type: ignore[operator]
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done.wait(seconds)


def test_caught_up_loops_pass_without_the_write_lock(ctx: Context) -> None:
    now = ctx.clock.now()
    system = Actor.system(ctx.workspace_id, "test")
    with ctx.store.begin() as conn:
        add_templates(conn, workspace_id=ctx.workspace_id, refs={("email", "hello")}, now=now)
        journeys.save_draft(
            conn, workspace_id=ctx.workspace_id, document=WELCOME, now=now, actor=system
        )
        journeys.publish(conn, workspace_id=ctx.workspace_id, key="welcome", now=now, actor=system)
        add_profile(conn, workspace_id=ctx.workspace_id, profile_id="p1", now=now)
        add_events(conn, workspace_id=ctx.workspace_id, rows=[("p1", "Signed Up", now)])
    loops = build_loops(ctx)
    # catch up: the event is read, the instance waits for its timer a day from now
    for _ in range(5):
        for loop in loops:
            while loop.run_once(ctx.clock.now()):
                pass
    assert ctx.store.sqlite_path is not None
    holder = sqlite3.connect(ctx.store.sqlite_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        blocked = [
            loop.name
            for loop in loops
            if not _finishes_within(5.0, lambda loop=loop: loop.run_once(ctx.clock.now()))
        ]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert blocked == []


def test_identity_resolution_waits_while_an_import_writes_then_catches_up(ctx: Context) -> None:
    from partitur.identity.loops import IdentityResolver
    from tests.support.events import insert_events, message

    with ctx.store.begin() as conn:
        insert_events(
            conn, ctx.workspace_id, [message(at=ctx.clock.now(), user_id="u1", event="Signed Up")]
        )
    resolver = IdentityResolver(ctx)
    with ctx.store.bulk_writing():
        assert ctx.store.bulk_writer_active()
        assert resolver.run_once(ctx.clock.now()) == 0  # the import has the single writer
    assert not ctx.store.bulk_writer_active()
    assert resolver.run_until_idle() == 1


def test_a_commit_by_another_process_wakes_the_watcher_and_silence_does_not(
    ctx: Context,
) -> None:
    woken = threading.Event()
    calls: list[float] = []

    def on_change() -> None:
        calls.append(1.0)
        woken.set()

    stop = threading.Event()
    thread = ctx.store.watch_commits(on_change, stop, every=0.02)
    assert thread is not None
    try:
        assert not woken.wait(0.3)  # nobody writes: no wake-up
        assert ctx.store.sqlite_path is not None
        other = sqlite3.connect(ctx.store.sqlite_path, isolation_level=None)
        other.execute("CREATE TABLE elsewhere (x)")  # another connection commits
        other.close()
        assert woken.wait(5)
    finally:
        stop.set()
        thread.join(5)
    assert len(calls) == 1


def test_commits_of_an_import_wake_the_watcher_once_when_it_ends(ctx: Context) -> None:
    calls: list[float] = []
    woken = threading.Event()

    def on_change() -> None:
        calls.append(1.0)
        woken.set()

    stop = threading.Event()
    thread = ctx.store.watch_commits(on_change, stop, every=0.02)
    assert thread is not None and ctx.store.sqlite_path is not None
    try:
        with ctx.store.bulk_writing():
            other = sqlite3.connect(ctx.store.sqlite_path, isolation_level=None)
            for n in range(3):  # the import's chunks
                other.execute(f"CREATE TABLE chunk{n} (x)")
            other.close()
            assert not woken.wait(0.3)
        assert woken.wait(5)  # the import has ended: its events are news now
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join(5)
    assert len(calls) == 1
