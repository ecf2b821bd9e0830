"""Stopping the worker: SIGINT or SIGTERM end ``partitur worker`` within seconds and cleanly;
a loop that does not finish its pass is named with the line it is on, and the worker exits
without it; a second signal exits at once; an exit that hangs anyway is ended by a watchdog."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select

from partitur.context import Context
from partitur.core.loops import LoopService
from partitur.journeys.tables import journey_leases
from partitur.settings import Settings
from partitur.worker import Worker
from tests.support.journeys import add_events

ROOT = Path(__file__).resolve().parents[2]


class _Blocked(LoopService):
    """A loop whose pass waits until ``release`` is set."""

    name = "test.blocked"

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.closed = False

    def run_once(self, now: datetime) -> int:
        self.entered.set()
        self.release.wait(30)
        return 0

    def close(self) -> None:
        self.closed = True


class _Idle(_Blocked):
    name = "test.idle"

    def run_once(self, now: datetime) -> int:
        self.entered.set()
        return 0


def _signal_when(event: threading.Event, *signums: int) -> threading.Thread:
    def send() -> None:
        assert event.wait(10), "the loop started"
        for signum in signums:
            os.kill(os.getpid(), signum)

    sender = threading.Thread(target=send)
    sender.start()
    return sender


def test_a_signal_stops_every_loop_and_closes_them() -> None:
    idle, other = _Idle(), _Idle()
    worker = Worker(cast(Context, None), loops=[idle, other])
    before = signal.getsignal(signal.SIGTERM)
    sender = _signal_when(idle.entered, signal.SIGTERM)
    started = time.monotonic()
    code = worker.run(grace=5)
    sender.join()
    assert code == 0
    assert time.monotonic() - started < 3
    assert idle.stopped and other.stopped
    assert idle.closed and other.closed
    assert signal.getsignal(signal.SIGTERM) is before, "the previous handler is back"


def test_a_loop_stuck_in_its_pass_is_named_with_its_line_and_left_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocked, idle = _Blocked(), _Idle()
    worker = Worker(cast(Context, None), loops=[idle, blocked])
    sender = _signal_when(blocked.entered, signal.SIGINT)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="partitur.worker"):
        code = worker.run(grace=0.5)
    waited = time.monotonic() - started
    sender.join()
    blocked.release.set()
    assert code == 1
    assert 0.5 <= waited < 3, "the grace period bounds the stop"
    report = caplog.text
    assert "1 loop(s) still busy 0.5 s after the stop signal: test.blocked" in report
    assert "self.release.wait(30)" in report, "the stuck loop's line is shown"
    assert not blocked.closed, "a loop still running is not closed under its feet"


def test_a_second_signal_exits_at_once() -> None:
    script = textwrap.dedent(
        """
        import sys, threading
        from partitur.core.loops import LoopService
        from partitur.worker import Worker

        class Blocked(LoopService):
            def run_once(self, now):
                print("ready", flush=True)
                threading.Event().wait(60)
                return 0

        sys.exit(Worker(None, loops=[Blocked()]).run(grace=60))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the first signal was taken: the worker is waiting for the loop
        assert proc.poll() is None
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    assert code == 128 + signal.SIGTERM
    assert time.monotonic() - started < 2
    assert proc.stderr is not None
    assert b"second stop signal, exiting now" in proc.stderr.read()


def test_the_watchdog_ends_a_process_whose_exit_hangs_and_shows_where() -> None:
    script = textwrap.dedent(
        """
        import sys, threading
        from partitur.core.loops import LoopService
        from partitur.worker import Worker

        class HangsOnClose(LoopService):
            def run_once(self, now):
                print("ready", flush=True)
                return 0

            def close(self):
                threading.Event().wait(60)  # a pool that never drains

        sys.exit(Worker(None, loops=[HangsOnClose()]).run(grace=30, watchdog=1))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    assert code == 1
    assert 1 <= time.monotonic() - started < 5
    assert proc.stderr is not None
    dump = proc.stderr.read().decode()
    assert "Timeout (0:00:01)!" in dump
    assert "line 12 in close" in dump, "the stack shows the close that hangs"


def _wait_for_lease(ctx: Context, owner_pid: int, proc: subprocess.Popen[Any]) -> None:
    """Until the worker process holds the journey consumer's lease (its loops are running and
    have found the event the test left for them: an idle consumer takes no lease)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the worker is running"
        with ctx.store.read() as conn:
            owners = conn.execute(select(journey_leases.c.owner)).scalars().all()
        if any(owner.endswith(f":{owner_pid}") for owner in owners):
            return
        time.sleep(0.1)
    raise AssertionError("the worker did not start its loops")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_partitur_worker_exits_cleanly_on_a_stop_signal(tmp_path: Path, signum: int) -> None:
    url = f"sqlite:///{tmp_path / 'stop.db'}"
    ctx = Context.open(Settings(database_url=url, sqlite_synchronous="NORMAL"))
    with ctx.store.begin() as conn:
        add_events(conn, workspace_id=ctx.workspace_id, rows=[("p1", "Signed Up", ctx.clock.now())])
    env = {
        **os.environ,
        "PARTITUR_DATABASE_URL": url,
        "PARTITUR_VAR_DIR": str(tmp_path / "var"),
        "PARTITUR_SMTP_PORT": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "partitur", "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_lease(ctx, proc.pid, proc)
        started = time.monotonic()
        proc.send_signal(signum)
        code = proc.wait(timeout=20)
        took = time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()
        ctx.close()
    assert proc.stderr is not None
    errors = proc.stderr.read().decode()
    assert code == 0, errors
    assert took < 5
    assert "Traceback" not in errors
