"""In-process wake-ups: a writer says "there is news on topic X", loops waiting on X wake at once.

This keeps the embedded single-process setup low-latency (an event ingested over HTTP reaches a
waiting journey instance within milliseconds) without polling hard. Across processes the bus
(Redis Streams) plays this role; loops still poll at their interval, so a missed wake-up only
costs latency, never correctness.
"""

from __future__ import annotations

import threading


class Signals:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}

    def notify(self, topic: str) -> None:
        with self._cond:
            self._versions[topic] = self._versions.get(topic, 0) + 1
            self._cond.notify_all()

    def notify_local(self, topic: str) -> None:
        """Wake this process's waiters only (``notify`` of a bus-backed implementation also
        tells the other processes; news they can see for themselves need not travel)."""
        Signals.notify(self, topic)

    def version(self, topic: str) -> int:
        with self._cond:
            return self._versions.get(topic, 0)

    def wait(self, topic: str, seen: int, timeout: float) -> int:
        """Wait until ``topic`` moves past version ``seen`` or ``timeout``; return the version."""
        with self._cond:
            self._cond.wait_for(lambda: self._versions.get(topic, 0) != seen, timeout=timeout)
            return self._versions.get(topic, 0)
