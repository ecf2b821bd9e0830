"""The bus: how processes hand work to each other once one machine is not enough.

Topics are split into shards by a key (the profile id), so one profile's messages stay in order
on one shard, consumed by one worker at a time. Consumers belong to groups; a message stays
pending until acknowledged, and messages left pending by a crashed consumer are claimed by
another after ``min_idle``. Two implementations share these semantics: ``InProcessBus`` (the
embedded single-process default and tests) and ``RedisStreamsBus`` (Redis Streams, consumer
groups, XAUTOCLAIM).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class BusMessage:
    id: str
    topic: str
    shard: int
    payload: dict[str, Any]
    deliveries: int = 1


def shard_of(key: str, shards: int) -> int:
    """A stable shard for ``key`` (CRC32, the same in every process and every run)."""
    return zlib.crc32(key.encode()) % shards


class Bus(Protocol):
    shards: int

    def publish(self, topic: str, payload: dict[str, Any], *, key: str) -> str:
        """Append a message to the shard of ``key``; return its id."""
        ...

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
        """New messages of one shard for this consumer of ``group`` (they become pending)."""
        ...

    def ack(self, topic: str, *, group: str, shard: int, ids: list[str]) -> int:
        """Acknowledge handled messages; return how many were pending."""
        ...

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
        """Take over messages another consumer left pending for at least ``min_idle_ms``."""
        ...

    def pending(self, topic: str, *, group: str, shard: int) -> int: ...
