"""An idle loop spaces its passes out (doubling up to a bound), wakes at once on its signal and
never sleeps past work it knows is due."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from partitur.core.loops import LoopService
from partitur.core.signals import Signals


class _Counting(LoopService):
    name = "test.counting"
    interval_seconds = 0.5
    max_idle_seconds = 4.0
    wake_topic = "news"

    def __init__(self, signals: Signals | None = None, due: float | None = None) -> None:
        super().__init__(signals=signals)
        self.passes = 0
        self.due = due
        self.passed = threading.Event()

    def run_once(self, now: datetime) -> int:
        self.passes += 1
        if self.due is not None:
            self.due_in(self.due)
        self.passed.set()
        return 0


def test_idle_waits_double_from_the_interval_up_to_the_bound() -> None:
    loop = _Counting()
    waits = []
    for _ in range(6):
        waits.append(loop.idle_wait())
        loop._idle_passes += 1
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_a_loop_whose_interval_exceeds_the_bound_keeps_its_interval() -> None:
    loop = _Counting()
    loop.interval_seconds = 15.0
    loop._idle_passes = 5
    assert loop.idle_wait() == 15.0


def test_work_due_sooner_shortens_the_wait() -> None:
    loop = _Counting(due=0.3)
    loop._idle_passes = 4
    loop.run_pass()
    assert loop.idle_wait() == 0.3
    loop.due = None
    loop.run_pass()  # the hint holds for one wait only
    assert loop.idle_wait() == 4.0


def test_a_signal_wakes_a_backed_off_loop_at_once_and_resets_the_backoff() -> None:
    signals = Signals()
    loop = _Counting(signals)
    loop._idle_passes = 10  # backed off to the bound (4 s)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        assert loop.passed.wait(5)
        loop.passed.clear()
        started = time.monotonic()
        signals.notify("news")
        assert loop.passed.wait(5)
        assert time.monotonic() - started < 1.0
        assert loop._idle_passes <= 1
    finally:
        loop.stop()
        thread.join(5)
    assert not thread.is_alive()
