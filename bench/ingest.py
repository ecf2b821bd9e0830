"""Ingestion benchmark: HTTP batch and track against a real server, bulk import, raw inserts.

    python bench/ingest.py [--smoke] [--clients N] [--keep DIR] [--only import]

All on SQLite. The server is ``partitur serve`` (uvicorn with uvloop/httptools, ONE process with
the group-commit writer, ``synchronous=FULL``) started as a subprocess on a free loopback port;
load comes from separate client processes speaking plain HTTP/1.1 keep-alive over asyncio
sockets (a light client, so the figures measure the server). Every figure is also printed as a
ratio to the raw insert rate of the same rows into the same SQLite table (``executemany``, one
transaction per 20,000 rows), measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing as mp
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from partitur.context import Context  # noqa: E402
from partitur.events import repository, service  # noqa: E402
from partitur.events.bulk_import import import_events  # noqa: E402
from partitur.settings import Settings  # noqa: E402
from partitur.workspaces.service import create_source  # noqa: E402

EVENTS = ["Product Viewed", "Product Added", "Checkout Started", "Order Completed", "Email Opened"]
START = datetime(2026, 1, 1, tzinfo=UTC)


def make_messages(count: int, *, seed: int, prefix: str) -> list[dict[str, Any]]:
    """Deterministic Segment track/identify/page messages of ~400 bytes each."""
    rng = random.Random(seed)
    messages = []
    for i in range(count):
        person = rng.randrange(200_000)
        at = START + timedelta(seconds=i * 7 + rng.randrange(5))
        kind = "track" if i % 10 < 8 else ("identify" if i % 10 == 8 else "page")
        message: dict[str, Any] = {
            "type": kind,
            "messageId": f"{prefix}-{i}",
            "anonymousId": f"anon-{person:06d}",
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "context": {"library": {"name": "bench", "version": "1.0"}, "ip": "10.0.0.1"},
        }
        if person % 3:
            message["userId"] = f"user-{person:06d}"
        if kind == "track":
            message["event"] = EVENTS[i % len(EVENTS)]
            message["properties"] = {"sku": f"SKU-{rng.randrange(5000)}", "price": i % 97 + 0.99}
        elif kind == "identify":
            message["traits"] = {"email": f"p{person}@example.com", "plan": "basic"}
        else:
            message["name"] = "Home"
            message["properties"] = {"path": "/", "referrer": "https://example.com/"}
        messages.append(message)
    return messages


def new_store(directory: Path, name: str, synchronous: str = "FULL") -> Context:
    settings = Settings(
        database_url=f"sqlite:///{directory / name}",
        var_dir=directory / "var",
        sqlite_synchronous=synchronous,
    )
    return Context.open(settings)


def source_for(ctx: Context) -> tuple[str, str]:
    with ctx.store.begin() as conn:
        src = create_source(conn, workspace_id=ctx.workspace_id, name="bench", now=START)
    return src.id, src.write_key


def raw_insert_rate(directory: Path, messages: list[dict[str, Any]]) -> tuple[float, float]:
    """executemany of the already-normalised rows into the events table (the storage limit)."""
    ctx = new_store(directory, "raw.db")
    source_id, _ = source_for(ctx)
    path = ctx.store.sqlite_path
    ctx.close()
    received = datetime.now(UTC)
    params = [
        repository.sqlite_params("ws", source_id, service.normalize(m, received_at=received))
        for m in messages
    ]
    sql = repository._SQLITE_INSERT
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(params), 20_000):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, params[i : i + 20_000])
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(FULL)")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    conn.close()
    return len(params) / seconds, len(params) / cpu


def write_jsonl(path: Path, messages: list[dict[str, Any]]) -> None:
    with path.open("wb") as handle:
        for m in messages:
            handle.write(orjson.dumps(m) + b"\n")


def _cpu_with_children() -> float:
    """CPU seconds of this process and its finished children (the import's worker processes)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def bench_import(path: Path, count: int) -> tuple[float, float, float]:
    """Import the JSONL file; returns (events/s, seconds, events per CPU-second)."""
    directory = path.parent
    ctx = new_store(directory, "import.db")
    source_id, _ = source_for(ctx)
    cpu = _cpu_with_children()
    summary = import_events(
        ctx.store,
        workspace_id=ctx.workspace_id,
        source_id=source_id,
        source_name="bench",
        path=path,
        received_at=datetime.now(UTC),
    )
    cpu = _cpu_with_children() - cpu
    ctx.close()
    assert summary.accepted == count, summary
    return summary.events_per_second, summary.seconds, count / cpu


# --- HTTP load ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    directory: Path, profile: Path | None = None
) -> tuple[subprocess.Popen[bytes], int, str, Path]:
    ctx = new_store(directory, "server.db")
    _, write_key = source_for(ctx)
    ctx.close()
    port = free_port()
    env = {**os.environ, "PARTITUR_DATABASE_URL": f"sqlite:///{directory / 'server.db'}"}
    command = [sys.executable, "-m", "partitur", "serve", "--port", str(port)]
    if profile is not None:  # collapsed stacks of the server, for finding what dominates
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
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port, write_key, directory / "server.db"
        except OSError:
            if proc.poll() is not None:
                detail = proc.stderr.read().decode() if proc.stderr else "server died"
                raise RuntimeError(detail) from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _request(path: str, body: bytes, write_key: str) -> bytes:
    auth = base64.b64encode(f"{write_key}:".encode()).decode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
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
    """Send ``requests`` from separate processes; timing starts once every client is up.
    (fork: the clients need nothing but the prepared bytes, and start in milliseconds.)"""
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
    failures = sum(r[2] for r in results)
    samples = [s for r in results for s in r[1]]
    return {
        "requests": len(latencies),
        "seconds": seconds,
        "failures": failures,
        "failure_samples": samples,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_events(db: Path) -> int:
    conn = sqlite3.connect(str(db))
    try:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (< 20 s)")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--connections", type=int, default=16, help="connections per process")
    parser.add_argument("--profile", type=Path, help="record the server with py-spy to this file")
    parser.add_argument(
        "--only", choices=("import",), help="run only this part (import: no HTTP server)"
    )
    args = parser.parse_args()
    import_n = 10_000 if args.smoke else 1_000_000
    batch_requests = 30 if args.smoke else 1_500
    track_requests = 600 if args.smoke else 20_000

    with tempfile.TemporaryDirectory(prefix="partitur-bench-") as tmp:
        directory = Path(tmp)
        messages = make_messages(import_n, seed=1, prefix="imp")
        jsonl = directory / "events.jsonl"
        write_jsonl(jsonl, messages)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        raw, raw_cpu = raw_insert_rate(directory, messages)
        print(
            f"raw SQLite executemany insert:  {raw:>10,.0f} rows/s   (baseline; "
            f"{raw_cpu:,.0f} rows per CPU-second)"
        )
        del messages  # the import process holds no such list (it would slow the GC down)
        rate, seconds, rate_cpu = bench_import(jsonl, import_n)
        print(
            f"import {import_n:,}-line JSONL:  {rate:>10,.0f} events/s "
            f"({seconds:.1f} s)  ratio {rate / raw:.2f}  ({rate_cpu:,.0f} per CPU-second, "
            f"ratio {rate_cpu / raw_cpu:.2f})"
        )

        if args.only == "import":
            print(f"load average after: {os.getloadavg()[0]:.1f}")
            return
        proc, port, write_key, db = start_server(directory, args.profile)
        try:
            batch_messages = make_messages(batch_requests * 100, seed=2, prefix="bat")
            bodies = [
                _request(
                    "/v1/batch",
                    orjson.dumps({"batch": batch_messages[i : i + 100]}),
                    write_key,
                )
                for i in range(0, len(batch_messages), 100)
            ]
            cpu = cpu_seconds(proc.pid)
            load = run_load(port, bodies, args.processes, max(1, args.connections // 4))
            cpu = cpu_seconds(proc.pid) - cpu
            events_per_second = len(batch_messages) / load["seconds"]
            stored = count_events(db)
            print(
                f"/v1/batch (100 events/request): {events_per_second:>10,.0f} events/s committed "
                f"p50 {load['p50_ms']:.1f} ms p99 {load['p99_ms']:.1f} ms  "
                f"ratio {events_per_second / raw:.2f}  (stored {stored:,}, "
                f"failures {load['failures']}; server {len(batch_messages) / cpu:,.0f} events "
                f"per CPU-second)"
            )
            single = make_messages(track_requests, seed=3, prefix="trk")
            tracks = [
                _request(
                    "/v1/track",
                    orjson.dumps({k: v for k, v in m.items() if k != "type"}),
                    write_key,
                )
                for m in single
                if m["type"] == "track"
            ]
            cpu = cpu_seconds(proc.pid)
            load = run_load(port, tracks, args.processes, args.connections)
            cpu = cpu_seconds(proc.pid) - cpu
            rps = load["requests"] / load["seconds"]
            print(
                f"/v1/track single events:       {rps:>10,.0f} requests/s "
                f"p50 {load['p50_ms']:.1f} ms p99 {load['p99_ms']:.1f} ms  "
                f"ratio {rps / raw:.3f}  (failures {load['failures']}; server "
                f"{load['requests'] / cpu:,.0f} requests per CPU-second)"
            )
            if load["failure_samples"]:
                print("  failures:", load["failure_samples"])
            total = count_events(db)
            assert total == stored + len(tracks), (total, stored, len(tracks))
            print(f"load average after: {os.getloadavg()[0]:.1f}")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
