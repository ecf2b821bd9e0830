"""A real uvicorn server of partitur on 127.0.0.1 (free port), run in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from partitur.app import create_app
from partitur.context import Context


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(ctx: Context, port: int | None = None) -> Iterator[str]:
    """Serve ``ctx`` over HTTP (on ``port``, or a free one); yields the base URL and stops
    the server on exit."""
    port = port or free_port()
    config = uvicorn.Config(
        create_app(ctx.settings, ctx=ctx),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
