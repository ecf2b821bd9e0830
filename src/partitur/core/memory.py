"""Process-wide memory habits for bulk work."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_pausers = 0
_was_enabled = True


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block of bulk work.

    Bulk work (identity resolution, imports, the demo generator) allocates millions of small
    acyclic tuples and dicts that reference counting frees anyway; the cyclic collector would
    rescan every live object again and again as they pile up (measured: more than half of an
    identity resolution pass). Nested and concurrent pauses (threads) are counted: the
    collector runs again once the last one ends, if it was enabled before the first.
    """
    global _pausers, _was_enabled
    with _lock:
        if _pausers == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pausers += 1
    try:
        yield
    finally:
        with _lock:
            _pausers -= 1
            if _pausers == 0 and _was_enabled:
                gc.enable()
