"""The analytics loops: the anomaly monitor (judges the event volume of every completed hour)
and the auto-winner (decides journey split experiments)."""

from __future__ import annotations

from datetime import datetime

from partitur.analytics.service import decide_experiments, run_monitor
from partitur.context import Context
from partitur.core.loops import LoopService


class AnomalyMonitor(LoopService):
    name = "analytics.monitor"
    interval_seconds = 60.0

    def __init__(self, ctx: Context) -> None:
        super().__init__(clock=ctx.clock, signals=ctx.signals)
        self.ctx = ctx

    def run_once(self, now: datetime) -> int:
        # a run with nothing new to judge costs one cursor read
        return len(run_monitor(self.ctx, now=now).alerts)


class AutoWinner(LoopService):
    """Decides the auto-winner splits of active journeys (``analytics.experiments``): the test
    stays valid however often it looks, so the interval only sets how soon a decision lands
    (and, on SQLite, how often the analytics engine copies the store)."""

    name = "analytics.auto_winner"
    interval_seconds = 300.0

    def __init__(self, ctx: Context) -> None:
        super().__init__(clock=ctx.clock, signals=ctx.signals)
        self.ctx = ctx

    def run_once(self, now: datetime) -> int:
        return decide_experiments(self.ctx, now=now)


def build_loops(ctx: Context) -> list[LoopService]:
    return [AnomalyMonitor(ctx), AutoWinner(ctx)]
