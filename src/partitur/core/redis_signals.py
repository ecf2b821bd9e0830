"""Wake-ups across processes: ``Signals`` shared through Redis Streams.

In one process, ``core.signals.Signals`` wakes the loops the moment the API commits events. With
API processes and workers on several machines (``PARTITUR_REDIS_URL`` set), ``RedisSignals``
does the same across all of them: ``notify`` wakes local waiters at once and hands the topic to
a publisher thread, which appends it to one broadcast stream (``partitur:signals``; topics that
pile up while an append is in flight go out together in the next one). A listener thread in
every process reads that stream (plain XREAD, so every process sees every message) and wakes its
own waiters for topics published by others. Loops still poll at their interval, so a lost
wake-up (Redis down, a trimmed stream) only costs latency, never correctness: the errors are
logged and retried, never raised into the caller of ``notify``.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from typing import Any

import orjson
import redis

from partitur.core.signals import Signals

log = logging.getLogger(__name__)

STREAM = "partitur:signals"
#: the stream keeps roughly this many recent wake-ups (they are only useful for seconds)
MAXLEN = 10_000


class RedisSignals(Signals):
    def __init__(self, url: str, *, stream: str = STREAM, block_ms: int = 1000) -> None:
        super().__init__()
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stream = stream
        self._block_ms = block_ms
        self._publisher = redis.Redis.from_url(url)
        self._listener = redis.Redis.from_url(url)
        self._outbox: set[str] = set()
        self._outbox_cond = threading.Condition()
        self._stopped = threading.Event()
        #: how many wake-ups came from other processes (observability and tests)
        self.received = 0
        self._threads = [
            threading.Thread(target=self._publish_loop, name="partitur-signals-out", daemon=True),
            threading.Thread(target=self._listen_loop, name="partitur-signals-in", daemon=True),
        ]
        self._last_id = "$"
        for thread in self._threads:
            thread.start()

    def notify(self, topic: str) -> None:
        super().notify(topic)
        with self._outbox_cond:
            self._outbox.add(topic)
            self._outbox_cond.notify()

    def _publish_loop(self) -> None:
        while not self._stopped.is_set():
            with self._outbox_cond:
                self._outbox_cond.wait_for(lambda: bool(self._outbox) or self._stopped.is_set())
                topics, self._outbox = sorted(self._outbox), set()
            if not topics:
                continue
            payload = orjson.dumps({"origin": self.origin, "topics": topics})
            try:
                self._publisher.xadd(self._stream, {"p": payload}, maxlen=MAXLEN, approximate=True)
            except redis.RedisError as exc:
                log.warning("could not publish wake-ups %s: %s", topics, exc)
                self._stopped.wait(0.5)

    def _listen_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                answer: Any = self._listener.xread(
                    {self._stream: self._last_id}, block=self._block_ms, count=500
                )
            except redis.RedisError as exc:
                if self._stopped.is_set():
                    return
                log.warning("could not read wake-ups: %s", exc)
                self._stopped.wait(0.5)
                continue
            if not answer:
                continue
            entries = next(iter(answer.values())) if isinstance(answer, dict) else answer[0][1]
            for message_id, fields in entries:
                self._last_id = (
                    message_id.decode() if isinstance(message_id, bytes) else str(message_id)
                )
                message = orjson.loads(fields[b"p"])
                if message.get("origin") == self.origin:
                    continue
                for topic in message.get("topics", []):
                    self.received += 1
                    Signals.notify(self, topic)  # local waiters only

    def close(self) -> None:
        self._stopped.set()
        with self._outbox_cond:
            self._outbox_cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=self._block_ms / 1000 + 2)
        self._publisher.close()
        self._listener.close()
