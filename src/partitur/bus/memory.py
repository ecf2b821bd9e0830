"""The in-process bus: the same delivery semantics as Redis Streams, kept in memory."""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from partitur.bus.contracts import BusMessage, shard_of


@dataclass
class _Pending:
    consumer: str
    since: float
    deliveries: int


@dataclass
class _Group:
    cursor: int = 0
    pending: dict[str, _Pending] = field(default_factory=dict)


class InProcessBus:
    def __init__(self, shards: int = 8, *, clock: Any = time.monotonic) -> None:
        self.shards = shards
        self._clock = clock
        self._lock = threading.Condition()
        self._streams: dict[tuple[str, int], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self._groups: dict[tuple[str, int, str], _Group] = defaultdict(_Group)
        self._ids = itertools.count(1)

    def publish(self, topic: str, payload: dict[str, Any], *, key: str) -> str:
        shard = shard_of(key, self.shards)
        with self._lock:
            message_id = f"{int(self._clock() * 1000)}-{next(self._ids)}"
            self._streams[(topic, shard)].append((message_id, dict(payload)))
            self._lock.notify_all()
        return message_id

    def read(
        self,
        topic: str,
        *,
        group: str,
        consumer: str,
        shard: int,
        count: int = 100,
        block_ms: int = 0,
    ) -> list[BusMessage]:
        deadline = self._clock() + block_ms / 1000
        with self._lock:
            while True:
                state = self._groups[(topic, shard, group)]
                stream = self._streams[(topic, shard)]
                batch = stream[state.cursor : state.cursor + count]
                if batch or self._clock() >= deadline:
                    break
                self._lock.wait(timeout=max(deadline - self._clock(), 0.001))
            state.cursor += len(batch)
            now = self._clock()
            for message_id, _ in batch:
                state.pending[message_id] = _Pending(consumer, now, 1)
            return [BusMessage(i, topic, shard, p) for i, p in batch]

    def ack(self, topic: str, *, group: str, shard: int, ids: list[str]) -> int:
        with self._lock:
            pending = self._groups[(topic, shard, group)].pending
            return sum(pending.pop(i, None) is not None for i in ids)

    def claim_stale(
        self,
        topic: str,
        *,
        group: str,
        consumer: str,
        shard: int,
        min_idle_ms: int,
        count: int = 100,
    ) -> list[BusMessage]:
        with self._lock:
            state = self._groups[(topic, shard, group)]
            payloads = dict(self._streams[(topic, shard)])
            now = self._clock()
            claimed: list[BusMessage] = []
            for message_id, entry in list(state.pending.items()):
                if len(claimed) == count:
                    break
                if (now - entry.since) * 1000 >= min_idle_ms:
                    entry.consumer, entry.since = consumer, now
                    entry.deliveries += 1
                    claimed.append(
                        BusMessage(message_id, topic, shard, payloads[message_id], entry.deliveries)
                    )
            return claimed

    def pending(self, topic: str, *, group: str, shard: int) -> int:
        with self._lock:
            return len(self._groups[(topic, shard, group)].pending)
