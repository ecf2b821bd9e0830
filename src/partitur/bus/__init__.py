"""Bus interface with an in-process and a Redis Streams implementation (see contracts.py)."""

from __future__ import annotations

from partitur.bus.contracts import Bus, BusMessage, shard_of


def open_bus(redis_url: str | None, *, shards: int = 8) -> Bus:
    """Redis Streams when a URL is configured (``PARTITUR_REDIS_URL``), else in-process."""
    if redis_url:
        from partitur.bus.redis_streams import RedisStreamsBus

        return RedisStreamsBus(redis_url, shards=shards)
    from partitur.bus.memory import InProcessBus

    return InProcessBus(shards=shards)


__all__ = ["Bus", "BusMessage", "open_bus", "shard_of"]
