"""The bus on Redis Streams: one stream per topic shard (``partitur:<topic>:<shard>``),
consumer groups for load sharing, XAUTOCLAIM to recover what a crashed worker left pending."""

from __future__ import annotations

from typing import Any

import orjson
import redis

from partitur.bus.contracts import BusMessage, shard_of


class RedisStreamsBus:
    def __init__(
        self, url: str, *, shards: int = 8, prefix: str = "partitur", maxlen: int = 1_000_000
    ) -> None:
        self.shards = shards
        self.prefix = prefix
        self.maxlen = maxlen
        self.client = redis.Redis.from_url(url)
        self._groups: set[tuple[str, str]] = set()

    def _stream(self, topic: str, shard: int) -> str:
        return f"{self.prefix}:{topic}:{shard}"

    def _ensure_group(self, stream: str, group: str) -> None:
        if (stream, group) in self._groups:
            return
        try:
            self.client.xgroup_create(stream, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add((stream, group))

    def publish(self, topic: str, payload: dict[str, Any], *, key: str) -> str:
        stream = self._stream(topic, shard_of(key, self.shards))
        message_id = self.client.xadd(
            stream, {"p": orjson.dumps(payload)}, maxlen=self.maxlen, approximate=True
        )
        return message_id.decode() if isinstance(message_id, bytes) else str(message_id)

    def _messages(
        self, topic: str, shard: int, entries: Any, deliveries: int = 1
    ) -> list[BusMessage]:
        out = []
        for message_id, fields in entries or []:
            if fields is None:  # trimmed away while pending
                continue
            mid = message_id.decode() if isinstance(message_id, bytes) else str(message_id)
            out.append(BusMessage(mid, topic, shard, orjson.loads(fields[b"p"]), deliveries))
        return out

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
        stream = self._stream(topic, shard)
        self._ensure_group(stream, group)
        answer: Any = self.client.xreadgroup(
            group, consumer, {stream: ">"}, count=count, block=block_ms or None
        )
        if not answer:
            return []
        # RESP2 answers [[stream, entries]], RESP3 {stream: entries}
        entries = next(iter(answer.values())) if isinstance(answer, dict) else answer[0][1]
        return self._messages(topic, shard, entries)

    def ack(self, topic: str, *, group: str, shard: int, ids: list[str]) -> int:
        if not ids:
            return 0
        return int(self.client.xack(self._stream(topic, shard), group, *ids))

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
        stream = self._stream(topic, shard)
        self._ensure_group(stream, group)
        answer = self.client.xautoclaim(
            stream, group, consumer, min_idle_time=min_idle_ms, start_id="0-0", count=count
        )
        return self._messages(topic, shard, answer[1], deliveries=2)

    def pending(self, topic: str, *, group: str, shard: int) -> int:
        stream = self._stream(topic, shard)
        self._ensure_group(stream, group)
        info = self.client.xpending(stream, group)
        return int(info["pending"])
