"""The identity resolver loop: follows the event log and resolves each batch after ingestion."""

from __future__ import annotations

import logging
from datetime import datetime

from partitur.context import Context
from partitur.core.loops import LoopService
from partitur.identity.service import (
    GapWatch,
    ResolverConfig,
    has_pending,
    run_resolution_pass,
)

log = logging.getLogger(__name__)

#: how often a resolver waiting for a bulk import looks whether it has ended
BULK_RECHECK_SECONDS = 0.5


class IdentityResolver(LoopService):
    name = "identity-resolver"
    interval_seconds = 1.0
    wake_topic = "events"

    def __init__(self, ctx: Context, *, batch_size: int | None = None) -> None:
        super().__init__(clock=ctx.clock, signals=ctx.signals)
        self.ctx = ctx
        self.config = ResolverConfig(
            blocked_values=list(ctx.settings.identity_blocked_values),
            external_id_traits=list(ctx.settings.identity_external_id_traits),
        )
        if batch_size is not None:
            self.config.batch_size = batch_size
        self.gap = GapWatch()

    def run_once(self, now: datetime) -> int:
        """Resolve one batch (one transaction); returns the number of events handled. While
        an import writes (``Store.bulk_writing``), nothing: its events are resolved after."""
        if self.ctx.store.bulk_writer_active():
            # an import holds SQLite's single writer: resolve its events once it is done
            self.due_in(BULK_RECHECK_SECONDS)
            return 0
        return self._resolve(now)

    def _resolve(self, now: datetime) -> int:
        with self.ctx.store.read() as conn:  # an idle pass takes no write lock
            if not has_pending(conn):
                return 0
        # a backlog pass is one large transaction: its WAL checkpoint runs on a side thread
        with self.ctx.store.begin(bulk=True) as conn:
            result = run_resolution_pass(conn, config=self.config, now=now, gap=self.gap)
        if result.events:
            log.info(
                "identity batch events=%d created=%d merges=%d dropped=%d position=%d",
                result.events,
                result.profiles_created,
                result.merges,
                result.dropped,
                result.position,
            )
            self.ctx.signals.notify("profiles")
        return result.events

    def run_until_idle(self, now: datetime | None = None) -> int:
        """Resolve until nothing is pending (tests, benchmarks), imports or not."""
        total = 0
        while True:
            done = self._resolve(now or self.clock.now())
            total += done
            if done == 0:
                return total


def build_loops(ctx: Context) -> list[LoopService]:
    return [IdentityResolver(ctx)]
