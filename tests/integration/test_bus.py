from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from partitur.bus import Bus, open_bus, shard_of
from tests.support.redis_server import RedisServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    if request.param == "memory":
        yield open_bus(None, shards=4)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    made = open_bus(server.url, shards=4)
    made.prefix = f"t{uuid.uuid4().hex[:8]}"  # type: ignore[attr-defined]
    yield made


def test_one_profile_stays_in_order_on_one_shard(bus: Bus) -> None:
    for n in range(20):
        bus.publish("events", {"n": n, "profile": "prf_a"}, key="prf_a")
    shard = shard_of("prf_a", bus.shards)
    got = bus.read("events", group="journeys", consumer="w1", shard=shard, count=100)
    assert [m.payload["n"] for m in got] == list(range(20))
    others = [s for s in range(bus.shards) if s != shard]
    assert all(not bus.read("events", group="journeys", consumer="w1", shard=s) for s in others)


def test_consumers_of_a_group_share_the_work_and_acks_clear_pending(bus: Bus) -> None:
    for n in range(10):
        bus.publish("events", {"n": n}, key="prf_b")
    shard = shard_of("prf_b", bus.shards)
    first = bus.read("events", group="g", consumer="w1", shard=shard, count=6)
    second = bus.read("events", group="g", consumer="w2", shard=shard, count=6)
    assert [m.payload["n"] for m in first + second] == list(range(10))
    assert bus.pending("events", group="g", shard=shard) == 10
    assert bus.ack("events", group="g", shard=shard, ids=[m.id for m in first]) == 6
    assert bus.pending("events", group="g", shard=shard) == 4
    # another group sees every message independently
    audit = bus.read("events", group="audit", consumer="a", shard=shard, count=100)
    assert len(audit) == 10


def test_a_crashed_consumers_messages_are_claimed_by_another(bus: Bus) -> None:
    for n in range(5):
        bus.publish("timers", {"n": n}, key="prf_c")
    shard = shard_of("prf_c", bus.shards)
    taken = bus.read("timers", group="g", consumer="crashed", shard=shard, count=5)
    assert len(taken) == 5  # ... and the consumer dies without acknowledging
    assert (
        bus.claim_stale("timers", group="g", consumer="w2", shard=shard, min_idle_ms=10_000) == []
    )
    time.sleep(0.06)
    claimed = bus.claim_stale("timers", group="g", consumer="w2", shard=shard, min_idle_ms=50)
    assert sorted(m.payload["n"] for m in claimed) == list(range(5))
    assert all(m.deliveries >= 2 for m in claimed)
    bus.ack("timers", group="g", shard=shard, ids=[m.id for m in claimed])
    assert bus.pending("timers", group="g", shard=shard) == 0


def test_blocking_read_returns_when_nothing_arrives(bus: Bus) -> None:
    started = time.monotonic()
    assert bus.read("quiet", group="g", consumer="w", shard=0, block_ms=100) == []
    assert 0.05 <= time.monotonic() - started < 2
