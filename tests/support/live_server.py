"""A real uvicorn server of partitur on 127.0.0.1 (free port), run in a thread, or
``partitur serve`` in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
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


@contextmanager
def served_process(ctx: Context) -> Iterator[str]:
    """``partitur serve`` in its own process over ``ctx``'s store (so the test's own work does
    not share the server's interpreter); yields the base URL and stops the server on exit."""
    settings = ctx.settings
    env = {
        **os.environ,
        "PARTITUR_DATABASE_URL": settings.database_url,
        "PARTITUR_VAR_DIR": str(settings.var_dir),
        "PARTITUR_WORKSPACE": settings.workspace,
        "PARTITUR_SECRET_KEY": settings.secret_key,
        "PARTITUR_LOG_LEVEL": "WARNING",
    }
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "partitur", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"partitur serve did not start: {error[-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
