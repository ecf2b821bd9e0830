"""Circuit breakers and provider rate limits hold across worker processes: two dispatchers
with their own connections to the same store (as two ``partitur worker`` processes have) see
one breaker and one token bucket per provider."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from partitur.channels.delivery_rules import CircuitBreaker
from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from partitur.core.clock import VirtualClock
from tests.channels.conftest import HttpServer, make_profile, message, provider, send


@pytest.fixture
def other_worker(ctx: Context, clock: VirtualClock) -> Iterator[Context]:
    """A second worker: its own engine and connections to the same database."""
    second = Context.open(ctx.settings, clock=clock, migrate=False)
    yield second
    second.close()


def breaker() -> CircuitBreaker:
    return CircuitBreaker(threshold=2, cooldown=timedelta(minutes=10))


def test_a_circuit_opened_by_one_worker_defers_the_endpoint_in_another(
    ctx: Context, other_worker: Context, clock: VirtualClock, http_server: HttpServer
) -> None:
    provider(
        ctx,
        channel="webhook",
        name="down",
        kind="webhook",
        config={"url": http_server.url + "/down", "timeout": 2},
    )
    http_server.answer(lambda r: (503, {}))
    first = Dispatcher(ctx, threads=2, breaker=breaker())
    second = Dispatcher(other_worker, threads=2, breaker=breaker())
    try:
        pid = make_profile(ctx)
        for i in range(2):
            send(
                ctx, pid, "webhook", payload={"endpoint": "down", "n": i}, category="transactional"
            )
        first.run_once(clock.now())
        assert len(http_server.requests) == 2  # two failures in a row: the circuit opens
        blocked = send(
            ctx, pid, "webhook", payload={"endpoint": "down", "n": 3}, category="transactional"
        )
        second.run_once(clock.now())
        assert len(http_server.requests) == 2
        row = message(ctx, blocked)
        assert (row.status, row.error) == ("deferred", "circuit open for down")

        # after the cooldown one trial request goes (the two retries and the blocked message
        # are due); its success closes the circuit for both workers, the others follow
        http_server.answer(lambda r: (200, {}))
        clock.advance(timedelta(minutes=11))
        second.run_once(clock.now())
        assert len(http_server.requests) == 3
        clock.advance(timedelta(seconds=11))
        first.run_once(clock.now())
        assert len(http_server.requests) == 5
        assert message(ctx, blocked).status == "delivered"
        http_server.answer(lambda r: (503, {}))
        send(ctx, pid, "webhook", payload={"endpoint": "down", "n": 4}, category="transactional")
        first.run_once(clock.now())
        later = send(
            ctx, pid, "webhook", payload={"endpoint": "down", "n": 5}, category="transactional"
        )
        second.run_once(clock.now())
        # one failure after the success: below the threshold, so the circuit is still closed
        assert message(ctx, later).status == "deferred"
        assert (message(ctx, later).error or "").startswith("attempt 1 failed")
    finally:
        first.close()
        second.close()


def test_a_provider_rate_limit_is_one_budget_for_all_workers(
    ctx: Context, other_worker: Context, clock: VirtualClock, http_server: HttpServer
) -> None:
    provider(
        ctx,
        channel="webhook",
        name="crm",
        kind="webhook",
        config={"url": http_server.url + "/crm", "timeout": 2},
        rate_per_second=2,
    )
    first = Dispatcher(ctx, threads=2)
    second = Dispatcher(other_worker, threads=2)
    try:
        pid = make_profile(ctx)
        early = [
            send(ctx, pid, "webhook", payload={"endpoint": "crm", "n": i}, category="transactional")
            for i in range(2)
        ]
        first.run_once(clock.now())
        assert [message(ctx, m).status for m in early] == ["delivered", "delivered"]
        late = send(
            ctx, pid, "webhook", payload={"endpoint": "crm", "n": 3}, category="transactional"
        )
        second.run_once(clock.now())  # same instant: the budget of 2/s is spent
        row = message(ctx, late)
        assert (row.status, row.error) == ("deferred", "rate limit of crm")
        assert len(http_server.requests) == 2
        clock.advance(timedelta(seconds=1))
        second.run_once(clock.now())
        assert message(ctx, late).status == "delivered"
    finally:
        first.close()
        second.close()
