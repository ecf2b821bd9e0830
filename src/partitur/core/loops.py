"""Background work as loop services: ``run_once(now)`` does one pass and is what tests call;
``run_forever`` is the thin shell around it used by the worker."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from datetime import datetime

from partitur.core.clock import Clock, SystemClock

log = logging.getLogger(__name__)


class LoopService(ABC):
    """A background loop. Subclasses implement ``run_once`` and return how much work they did."""

    name: str = "loop"
    interval_seconds: float = 1.0

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._stop = threading.Event()

    @abstractmethod
    def run_once(self, now: datetime) -> int:
        """Do one pass of work at ``now``; return the number of items handled."""

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run_forever(self) -> None:
        """Run until ``stop()``; when a pass did work, go again at once, else sleep."""
        log.info("loop started name=%s", self.name)
        while not self._stop.is_set():
            try:
                done = self.run_once(self.clock.now())
            except Exception:
                # A failing pass must not kill the worker; it is logged and retried.
                log.exception("loop pass failed name=%s", self.name)
                done = 0
            if done == 0:
                self._stop.wait(self.interval_seconds)
        log.info("loop stopped name=%s", self.name)
