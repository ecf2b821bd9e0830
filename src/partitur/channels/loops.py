"""Background loops of the channels domain: the dispatcher and the retry/recovery loop."""

from __future__ import annotations

from datetime import datetime

from partitur.channels import repository
from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from partitur.core.loops import LoopService

#: the signals topic ``enqueue`` callers may notify to wake the dispatcher at once
WAKE_TOPIC = "outbox"


class DispatcherLoop(LoopService):
    """Sends every due message of the outbox (queued, and deferred whose time has come)."""

    name = "channels.dispatcher"
    interval_seconds = 1.0
    wake_topic = WAKE_TOPIC

    def __init__(self, ctx: Context, dispatcher: Dispatcher) -> None:
        super().__init__(clock=ctx.clock, signals=ctx.signals)
        self.ctx = ctx
        self.dispatcher = dispatcher

    def run_once(self, now: datetime) -> int:
        with self.ctx.store.read() as conn:  # an idle pass takes no write lock
            due = repository.earliest_due(conn, now=now)
        if due is None:
            return 0
        if due > now:  # a retry or a deferred send: wake for it, however long the backoff
            self.due_in((due - now).total_seconds())
            return 0
        return self.dispatcher.run_once(now).claimed

    def close(self) -> None:
        self.dispatcher.close()  # the sending threads and the providers' connections


class RetryLoop(LoopService):
    """Puts messages whose sender died mid-send back in the queue once their lease expires."""

    name = "channels.retry"
    interval_seconds = 15.0

    def __init__(self, ctx: Context, dispatcher: Dispatcher) -> None:
        super().__init__(clock=ctx.clock, signals=ctx.signals)
        self.ctx = ctx
        self.dispatcher = dispatcher

    def run_once(self, now: datetime) -> int:
        with self.ctx.store.read() as conn:  # an idle pass takes no write lock
            if not repository.has_stale_sending(conn, now=now):
                return 0
        return self.dispatcher.recover(now)


def build_loops(ctx: Context) -> list[LoopService]:
    dispatcher = Dispatcher(ctx)
    return [DispatcherLoop(ctx, dispatcher), RetryLoop(ctx, dispatcher)]
