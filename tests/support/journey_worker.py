"""A journey worker process for the kill test: event consumer + timer scheduler on a fast clock.

    python -m tests.support.journey_worker DATABASE_URL EPOCH START_ISO SPEED

The clock is ``START + (wall time - EPOCH) * SPEED``, so restarts continue the same timeline.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

from partitur.context import Context
from partitur.core.clock import parse_iso8601
from partitur.journeys.loops import EventConsumer, TimerScheduler
from partitur.settings import Settings


class FastClock:
    def __init__(self, epoch: float, start: datetime, speed: float) -> None:
        self.epoch, self.start, self.speed = epoch, start, speed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.epoch) * self.speed)


def main() -> None:
    url, epoch, start, speed = sys.argv[1], float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    clock = FastClock(epoch, parse_iso8601(start), speed)
    ctx = Context.open(Settings(database_url=url, sqlite_synchronous="NORMAL"), clock=clock)
    consumer, timers = EventConsumer(ctx, batch=500), TimerScheduler(ctx, batch=500)
    print("ready", flush=True)
    while True:
        done = consumer.run_pass() + timers.run_pass()
        if not done:
            time.sleep(0.02)


if __name__ == "__main__":
    main()
