"""Background work as loop services: ``run_once(now)`` does one pass and is what tests call;
``run_forever`` is the thin shell around it used by the worker."""

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
    interval_seconds: float = 1.0
    #: a ``Signals`` topic that wakes this loop before its interval is up (e.g. "events")
    wake_topic: str | None = None

    def __init__(self, clock: Clock | None = None, signals: Signals | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.signals = signals
        self._stop = threading.Event()
        self._seen = 0

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

    def _idle(self) -> None:
        """Sleep for the interval, or less when the wake topic moves."""
        if self.signals is None or self.wake_topic is None:
            self._stop.wait(self.interval_seconds)
            return
        self.signals.wait(self.wake_topic, self._seen, self.interval_seconds)

    def run_pass(self) -> int:
        """One pass at the clock's current time (remembering the wake topic's version first)."""
        if self.signals is not None and self.wake_topic is not None:
            self._seen = self.signals.version(self.wake_topic)
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
        log.info("loop stopped name=%s", self.name)
