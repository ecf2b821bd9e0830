"""The worker process: every background loop of every domain, each in its own thread."""

from __future__ import annotations

import importlib
import logging
import signal
import threading
from types import FrameType

from partitur.context import Context
from partitur.core.loops import LoopService

log = logging.getLogger(__name__)

#: Domains that run background loops expose ``build_loops(ctx) -> list[LoopService]`` here.
LOOP_MODULES = [
    "partitur.identity.loops",
    "partitur.segments.loops",
    "partitur.journeys.loops",
    "partitur.channels.loops",
    "partitur.analytics.loops",
]


def build_loops(ctx: Context) -> list[LoopService]:
    loops: list[LoopService] = []
    for name in LOOP_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        loops.extend(module.build_loops(ctx))
    return loops


class Worker:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.loops = build_loops(ctx)

    def start_threads(self) -> list[threading.Thread]:
        threads = []
        for loop in self.loops:
            t = threading.Thread(target=loop.run_forever, name=loop.name, daemon=True)
            t.start()
            threads.append(t)
        return threads

    def stop(self) -> None:
        for loop in self.loops:
            loop.stop()

    def run(self) -> None:
        """Run until SIGINT/SIGTERM."""
        done = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            done.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        threads = self.start_threads()
        log.info("worker running loops=%s", [loop.name for loop in self.loops])
        done.wait()
        self.stop()
        for t in threads:
            t.join(timeout=10)
