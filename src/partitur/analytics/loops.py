"""The anomaly monitor loop: judges the event volume of every completed hour."""

from __future__ import annotations

from datetime import datetime

from partitur.analytics.service import run_monitor
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


def build_loops(ctx: Context) -> list[LoopService]:
    return [AnomalyMonitor(ctx)]
