"""What the imperative shell hands to services: settings, the store and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from partitur.core import outbound, secret_key
from partitur.core.clock import Clock, SystemClock
from partitur.core.signals import Signals
from partitur.settings import Settings
from partitur.storage.engine import Store


@dataclass
class Context:
    settings: Settings
    store: Store
    clock: Clock = field(default_factory=SystemClock)
    workspace_id: str = ""
    #: wake-ups between the API and the loops: of one process (core/signals.py), or of every
    #: process sharing ``redis_url`` (core/redis_signals.py)
    signals: Signals = field(default_factory=Signals)

    @classmethod
    def open(
        cls, settings: Settings, *, clock: Clock | None = None, migrate: bool = True
    ) -> Context:
        """Open the store named by the settings, migrate it and make sure the workspace exists."""
        from partitur.storage.migrate import upgrade
        from partitur.workspaces.service import ensure_workspace

        store = Store(
            settings.database_url,
            sqlite_synchronous=settings.sqlite_synchronous,
            snapshot_max_staleness=settings.analytics_snapshot_seconds,
        )
        if migrate:
            upgrade(store)
        outbound.allow(settings.outbound_allowed_hosts)
        settings = settings.model_copy(
            update={"secret_key": secret_key.resolve(settings.secret_key, settings.var_dir)}
        )
        ctx = cls(settings=settings, store=store, clock=clock or SystemClock())
        if settings.redis_url:
            # several processes: wake-ups travel through Redis (see core/redis_signals.py)
            from partitur.core.redis_signals import RedisSignals

            ctx.signals = RedisSignals(settings.redis_url)
        with store.begin() as conn:
            ctx.workspace_id = ensure_workspace(
                conn, name=settings.workspace, now=ctx.clock.now()
            ).id
        return ctx

    def __post_init__(self) -> None:
        # committed actions wake the loops waiting on their topics (core.actions.wake); the
        # closure reads ``self.signals`` at call time, so replacing the signals later works

        def notify(topics: set[str]) -> None:
            for topic in sorted(topics):
                self.signals.notify(topic)

        self.store.on_commit = notify

    def close(self) -> None:
        close_signals = getattr(self.signals, "close", None)
        if close_signals is not None:
            close_signals()
        self.store.dispose()
