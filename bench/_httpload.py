"""A light HTTP/1.1 load generator shared by the benchmarks that drive a real server.

Requests are prepared as raw bytes up front; client processes (forked, so they start in
milliseconds) replay them over keep-alive asyncio sockets and record each latency. Timing starts
once every client is connected and ready, so the figures measure the server, not the client's
start-up. ``start_serve`` runs ``partitur serve`` (the deployment path) on a free loopback port.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

#: the stderr of each process started by ``spawn``, by pid (read by ``stderr_of``)
_STDERR: dict[int, IO[bytes]] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serve(
    env: dict[str, str], profile: Path | None = None, extra_args: list[str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """``partitur serve`` as a subprocess (environment: ``PARTITUR_*`` settings; ``extra_args``
    such as ``--with-worker``); waits until it accepts connections. With ``profile``, py-spy
    records the server's collapsed stacks there."""
    port = free_port()
    command = [sys.executable, "-m", "partitur", "serve", "--port", str(port), *(extra_args or [])]
    if profile is not None:
        spy = str(Path(sys.executable).with_name("py-spy"))
        command = [
            spy,
            "record",
            "--format",
            "raw",
            "-r",
            "200",
            "-o",
            str(profile),
            "--",
            *command,
        ]
    proc = spawn(command, env)
    wait_accepting(proc, port)
    return proc, port


#: a bare ASGI app on uvicorn (the server's HTTP stack with nothing behind it): reads the body
#: and answers ``200 {}``; the raw limit the HTTP benchmarks compare against
BARE_SERVER = """
import sys
import uvicorn

async def app(scope, receive, send):
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off")
"""


def start_bare() -> tuple[subprocess.Popen[bytes], int]:
    """The bare uvicorn server (``BARE_SERVER``) on a free loopback port, accepting."""
    port = free_port()
    proc = spawn([sys.executable, "-c", BARE_SERVER, str(port)], {})
    wait_accepting(proc, port)
    return proc, port


def wait_accepting(proc: subprocess.Popen[bytes], port: int, timeout: float = 60) -> None:
    """Until ``proc`` accepts connections on ``port`` (an error if it dies or never does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(stderr_of(proc) or "server died") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A subprocess with ``env`` added to this one's environment; its stderr goes to a temporary
    file (a pipe nobody reads would stall a process that logs much), read by ``stderr_of``."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process it logs
    proc = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log
    )
    _STDERR[proc.pid] = log
    return proc


def stderr_of(proc: subprocess.Popen[bytes], limit: int = 4000) -> str:
    """The last ``limit`` characters a process started by ``spawn`` wrote to stderr."""
    log = _STDERR.get(proc.pid)
    if log is None:
        return ""
    log.seek(0)
    return log.read().decode(errors="replace")[-limit:]


def stop(proc: subprocess.Popen[bytes], name: str, timeout: float = 30.0) -> int:
    """Stop a process as Ctrl-C would (SIGINT) and return its exit code. One still running
    after ``timeout`` seconds is killed, and the error carries the end of its stderr."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError(
            f"{name} did not stop within {timeout:g} s of SIGINT; its stderr ends:\n"
            + stderr_of(proc)
        ) from None


def post(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One POST request as raw HTTP/1.1 bytes."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def _connection(
    port: int, requests: list[bytes], latencies: list[float], failures: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for request in requests:
        sent = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await reader.readexactly(length)
        latencies.append(time.perf_counter() - sent)
        if not head.startswith(b"HTTP/1.1 200"):
            failures.append(head.split(b"\r\n", 1)[0].decode() + " " + body[:200].decode())
    writer.close()


def _client_process(
    port: int, requests: list[bytes], connections: int, out: Any, go: Any, ready: Any
) -> None:
    latencies: list[float] = []
    failures: list[str] = []

    async def main() -> tuple[float, float]:
        shares = [requests[i::connections] for i in range(connections)]
        ready.put(True)
        go.wait()
        started = time.time()
        await asyncio.gather(*(_connection(port, s, latencies, failures) for s in shares if s))
        return started, time.time()

    started, ended = asyncio.run(main())
    out.put((latencies, failures[:5], len(failures), started, ended))


def run_load(port: int, requests: list[bytes], processes: int, connections: int) -> dict[str, Any]:
    """Send ``requests`` from ``processes`` client processes with ``connections`` keep-alive
    connections each; returns requests, seconds, failures, p50_ms, p99_ms."""
    ctx = mp.get_context("fork")
    queue: Any = ctx.Queue()
    ready: Any = ctx.Queue()
    go = ctx.Event()
    procs = [
        ctx.Process(
            target=_client_process,
            args=(port, requests[i::processes], connections, queue, go, ready),
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=60)
    go.set()
    results = [queue.get(timeout=600) for _ in procs]
    seconds = max(r[4] for r in results) - min(r[3] for r in results)
    for p in procs:
        p.join()
    latencies = sorted(x for r in results for x in r[0])
    samples = [s for r in results for s in r[1]]
    return {
        "requests": len(latencies),
        "seconds": seconds,
        "failures": sum(r[2] for r in results),
        "failure_samples": samples,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p95_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
