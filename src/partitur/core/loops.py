"""Background work as loop services: ``run_once(now)`` does one pass and is what tests call;
``run_forever`` is the thin shell around it used by the worker.

An idle loop costs (next to) nothing: a pass that finds no work reads only what is new since
its cursor and takes no write lock, and idle passes that follow each other space out, from
``interval_seconds`` doubling up to ``max_idle_seconds``. A signal on the loop's wake topic
ends the wait at once, so work that arrives through this process (or through the bus) is
picked up without delay; work written by another process without a bus waits at most
``max_idle_seconds``."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from datetime import datetime

from partitur.core.clock import Clock, SystemClock
from partitur.core.signals import Signals

log = logging.getLogger(__name__)


class LoopService(ABC):
    """A background loop. Subclasses implement ``run_once`` and return how much work they did."""

    name: str = "loop"
    #: the wait after a pass that found no work (the first of a row of idle passes)
    interval_seconds: float = 1.0
    #: the longest wait between idle passes (the backoff's bound; never below the interval)
    max_idle_seconds: float = 5.0
    #: a ``Signals`` topic that wakes this loop before its wait is up (e.g. "events")
    wake_topic: str | None = None

    def __init__(self, clock: Clock | None = None, signals: Signals | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.signals = signals
        self._stop = threading.Event()
        self._seen = 0
        #: idle passes in a row (the backoff's exponent)
        self._idle_passes = 0
        #: seconds until work is known to be due (``due_in``), for the next wait only
        self._due_in: float | None = None

    @abstractmethod
    def run_once(self, now: datetime) -> int:
        """Do one pass of work at ``now``; return the number of items handled."""

    def stop(self) -> None:
        self._stop.set()
        if self.signals is not None and self.wake_topic is not None:
            self.signals.notify(self.wake_topic)

    def close(self) -> None:
        """Release what the loop holds (pools, connections) once its thread has ended."""
        return None  # most loops hold nothing of their own

    def due_in(self, seconds: float) -> None:
        """Say, from an idle ``run_once``, that work falls due in ``seconds`` (a timer): the
        next wait ends then at the latest, however long the backoff has grown."""
        self._due_in = seconds if self._due_in is None else min(self._due_in, seconds)

    def idle_wait(self) -> float:
        """How long the loop sleeps after this row of idle passes: the interval doubled per
        idle pass up to ``max_idle_seconds``, or less when work is due sooner."""
        bound = max(self.interval_seconds, self.max_idle_seconds)
        wait = min(bound, self.interval_seconds * 2.0 ** min(self._idle_passes, 30))
        if self._due_in is not None:
            wait = min(wait, max(self._due_in, 0.0))
        return wait

    def _idle(self) -> None:
        """Sleep for the idle wait, or less when the wake topic moves."""
        wait = self.idle_wait()
        self._idle_passes += 1
        if self.signals is None or self.wake_topic is None:
            self._stop.wait(wait)
            return
        if self.signals.wait(self.wake_topic, self._seen, wait) != self._seen:
            self._idle_passes = 0  # woken: work is arriving, keep the next wait short

    def run_pass(self) -> int:
        """One pass at the clock's current time (remembering the wake topic's version first)."""
        if self.signals is not None and self.wake_topic is not None:
            self._seen = self.signals.version(self.wake_topic)
        self._due_in = None
        return self.run_once(self.clock.now())

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run_forever(self) -> None:
        """Run until ``stop()``; when a pass did work, go again at once, else sleep."""
        log.info("loop started name=%s", self.name)
        while not self._stop.is_set():
            try:
                done = self.run_pass()
            except Exception:
                # A failing pass must not kill the worker; it is logged and retried.
                log.exception("loop pass failed name=%s", self.name)
                done = 0
            if done == 0:
                self._idle()
            else:
                self._idle_passes = 0
        log.info("loop stopped name=%s", self.name)
