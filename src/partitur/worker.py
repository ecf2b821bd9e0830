"""The worker process: every background loop of every domain, each in its own thread.

Stopping (SIGINT or SIGTERM): every loop finishes the pass it is in and the process exits with
code 0. A pass is one transaction or a few, so nothing is left half-written either way; a loop
still busy after the grace period (``PARTITUR_WORKER_STOP_SECONDS``) is named in the log with
the line it is on, and the process exits anyway with code 1 (its open transaction rolls back).
A second signal exits at once. ``partitur worker`` also gives the whole exit a deadline (see
``Worker.run``'s ``watchdog``).
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType

from partitur.analytics import loops as analytics_loops
from partitur.channels import loops as channels_loops
from partitur.context import Context
from partitur.core.loops import LoopService
from partitur.identity import loops as identity_loops
from partitur.journeys import loops as journeys_loops
from partitur.segments import loops as segments_loops

log = logging.getLogger(__name__)

#: Every domain's ``build_loops(ctx) -> list[LoopService]``, listed once.
LOOP_BUILDERS: list[Callable[[Context], list[LoopService]]] = [
    identity_loops.build_loops,
    segments_loops.build_loops,
    journeys_loops.build_loops,
    channels_loops.build_loops,
    analytics_loops.build_loops,
]

#: how often the main thread looks whether a stop signal came (see ``Worker.run``)
_SIGNAL_POLL_SECONDS = 0.2


def build_loops(ctx: Context) -> list[LoopService]:
    return [loop for build in LOOP_BUILDERS for loop in build(ctx)]


class Worker:
    def __init__(self, ctx: Context, loops: list[LoopService] | None = None) -> None:
        self.ctx = ctx
        self.loops = build_loops(ctx) if loops is None else loops
        self._watching = threading.Event()

    def start_threads(self) -> list[threading.Thread]:
        threads = []
        for loop in self.loops:
            t = threading.Thread(target=loop.run_forever, name=loop.name, daemon=True)
            t.start()
            threads.append(t)
        topics = sorted({loop.wake_topic for loop in self.loops if loop.wake_topic})
        if self.ctx is not None and topics:
            # commits of other processes (an import, a second API process) wake the loops as
            # this process's own do, instead of waiting for their next idle look
            def wake() -> None:
                for topic in topics:
                    self.ctx.signals.notify_local(topic)

            self.ctx.store.watch_commits(wake, self._watching)
        return threads

    def stop(self) -> None:
        self._watching.set()
        for loop in self.loops:
            loop.stop()

    def close(self) -> None:
        """Release what the loops hold (thread pools, provider connections)."""
        for loop in self.loops:
            loop.close()

    def join(self, threads: list[threading.Thread], grace: float) -> list[threading.Thread]:
        """Wait up to ``grace`` seconds in all for the loops' threads; the ones still running."""
        deadline = time.monotonic() + grace
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        return [t for t in threads if t.is_alive()]

    def run(self, *, grace: float = 20.0, watchdog: float | None = None) -> int:
        """Run until SIGINT or SIGTERM, then stop (see the module's docstring). Returns the exit
        code: 0 when every loop finished its pass within ``grace`` seconds, else 1 (the caller
        then exits without waiting for the stuck threads).

        With ``watchdog``, the process has that many seconds from the stop signal to be gone,
        whatever holds it up (a loop's pool, a library's exit handler): then every thread's
        stack goes to stderr and the process ends with code 1 (``faulthandler``, which runs
        outside the interpreter and so also while it shuts down)."""
        received: list[int] = []

        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            # Only a list append here: the handler runs on the main thread between two of its
            # bytecodes, possibly while that thread holds a lock (an Event's, say) it would need.
            if received:
                os.write(2, b"partitur worker: second stop signal, exiting now\n")
                os._exit(128 + signum)
            received.append(signum)

        previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            threads = self.start_threads()
            log.info("worker running loops=%s", [loop.name for loop in self.loops])
            # A timed sleep, not a wait without end: the handler runs when the main thread next
            # executes Python, which a blocking wait would postpone forever if the kernel gave
            # the signal to another thread.
            while not received:
                time.sleep(_SIGNAL_POLL_SECONDS)
            log.info("worker stopping (signal %d)", received[0])
            if watchdog is not None:
                faulthandler.dump_traceback_later(watchdog, exit=True)
            self.stop()
            stuck = self.join(threads, grace)
            if stuck:
                log.warning("%s", stuck_report(stuck, grace))
                return 1
            self.close()
            log.info("worker stopped")
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def stuck_report(threads: list[threading.Thread], grace: float) -> str:
    """Which threads did not stop within ``grace`` seconds, and where each one is."""
    frames = sys._current_frames()
    lines = [
        f"worker: {len(threads)} loop(s) still busy {grace:g} s after the stop signal: "
        + ", ".join(t.name for t in threads)
        + "; exiting without them"
    ]
    for t in threads:
        frame = frames.get(t.ident or -1)
        if frame is not None:
            lines.append(f"{t.name} is at:")
            lines.extend(line.rstrip() for line in traceback.format_stack(frame))
    return "\n".join(lines)
