from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from partitur.bus import Bus, open_bus, shard_of
from partitur.core.actions import Actor
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


# --- wake-ups across processes ------------------------------------------------------------


@pytest.mark.redis
def test_a_notify_in_one_process_wakes_the_waiters_of_another(
    redis_server: RedisServer,
) -> None:
    from partitur.bus.signals import RedisSignals

    stream = f"t{uuid.uuid4().hex[:8]}:signals"
    api, worker = (RedisSignals(redis_server.url, stream=stream) for _ in range(2))
    try:
        time.sleep(0.2)  # both listeners are reading the stream
        seen = worker.version("events")
        started = time.perf_counter()
        api.notify("events")
        assert api.version("events") == 1  # the notifying process's own waiters wake at once
        assert worker.wait("events", seen, timeout=5) == seen + 1
        assert time.perf_counter() - started < 1.0  # not the 5 s timeout, not a poll interval
        assert (worker.received, api.received) == (1, 0)  # nobody hears its own echo
        worker.notify("timers")
        assert api.wait("timers", 0, timeout=5) == 1
    finally:
        api.close()
        worker.close()


@pytest.mark.redis
def test_events_posted_to_one_api_process_wake_a_worker_process(
    redis_server: RedisServer, sqlite_url: str, tmp_path: Path
) -> None:
    """Two contexts on one database and one Redis, as an API process and a worker process."""
    from fastapi.testclient import TestClient

    from partitur.app import create_app
    from partitur.context import Context
    from partitur.settings import Settings
    from partitur.workspaces.service import create_source

    settings = Settings(
        database_url=sqlite_url,
        var_dir=tmp_path / "var",
        sqlite_synchronous="NORMAL",
        redis_url=redis_server.url,
    )
    api, worker = Context.open(settings), Context.open(settings)
    try:
        with api.store.begin() as conn:
            key = create_source(
                conn,
                workspace_id=api.workspace_id,
                name="web",
                now=api.clock.now(),
                actor=Actor.system(api.workspace_id, "test"),
            ).write_key
        time.sleep(0.2)
        seen = worker.signals.version("events")
        with TestClient(create_app(settings, ctx=api)) as client:
            answer = client.post(
                "/v1/track", json={"userId": "u1", "event": "Ordered"}, auth=(key, "")
            )
            assert answer.status_code == 200
            assert worker.signals.wait("events", seen, timeout=5) > seen
    finally:
        api.close()
        worker.close()
