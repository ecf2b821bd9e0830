"""Wake-ups across processes through Redis (core/redis_signals.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from partitur.core.actions import Actor
from tests.support.redis_server import RedisServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


# --- wake-ups across processes ------------------------------------------------------------


@pytest.mark.redis
def test_a_notify_in_one_process_wakes_the_waiters_of_another(
    redis_server: RedisServer,
) -> None:
    from partitur.core.redis_signals import RedisSignals

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
