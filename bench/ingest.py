"""Ingestion benchmark: HTTP batch and track against a real server, bulk import, raw limits.

    python bench/ingest.py [--smoke] [--processes N] [--connections N] [--only import]

All on SQLite. The server is ``partitur serve`` (uvicorn with uvloop/httptools, ONE process with
the group-commit writer, the server's own ``synchronous=FULL``) started as a subprocess on a free
loopback port; load comes from separate client processes speaking plain HTTP/1.1 keep-alive
over asyncio sockets (a light client, so the figures measure the server).

Each figure has a raw limit measured in the same run as its baseline:
* the import: an ``executemany`` of the same rows into the same table, one transaction per
  20,000 rows, with the import's own ``synchronous=NORMAL`` (``events.bulk_import`` commits its
  chunks that way);
* ``/v1/batch`` and ``/v1/track``: the same requests, from the same client processes over as
  many connections, against a bare ASGI app on the same uvicorn (no validation, no store). The
  storage limit at the server's setting (``executemany`` at ``synchronous=FULL``) is printed
  beside it.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
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
sys.path.insert(0, str(ROOT / "bench"))

from _httpload import cpu_seconds, post, run_load, start_bare, start_serve, stop  # noqa: E402
from _report import Report, Target, at_least  # noqa: E402

from partitur.context import Context  # noqa: E402
from partitur.core.actions import Actor  # noqa: E402
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
        src = create_source(
            conn,
            workspace_id=ctx.workspace_id,
            name="bench",
            now=START,
            actor=Actor.system(ctx.workspace_id, "bench"),
        )
    return src.id, src.write_key


def raw_insert_rate(
    directory: Path, messages: list[dict[str, Any]], synchronous: str
) -> tuple[float, float]:
    """executemany of the already-normalised rows into the events table (the storage limit)
    at ``synchronous``; rows per second of wall clock and of CPU."""
    ctx = new_store(directory, f"raw-{synchronous.lower()}.db")
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
    conn.execute(f"PRAGMA synchronous={synchronous}")
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


def bench_import(path: Path, count: int) -> tuple[float, float, float, float, float]:
    """Import the JSONL file; returns (events/s, seconds, events per CPU-second, main-process
    CPU microseconds per event, worker-process CPU microseconds per event)."""
    directory = path.parent
    ctx = new_store(directory, "import.db")
    source_id, _ = source_for(ctx)
    before = os.times()
    summary = import_events(
        ctx.store,
        workspace_id=ctx.workspace_id,
        source_id=source_id,
        source_name="bench",
        path=path,
        received_at=datetime.now(UTC),
    )
    after = os.times()
    ctx.close()
    assert summary.accepted == count, summary
    main = after.user + after.system - before.user - before.system
    # the import's worker processes (finished children)
    workers = (
        after.children_user + after.children_system - before.children_user - before.children_system
    )
    return (
        summary.events_per_second,
        summary.seconds,
        count / (main + workers),
        main / count * 1e6,
        workers / count * 1e6,
    )


# --- HTTP load ------------------------------------------------------------------------------


def start_server(
    directory: Path, profile: Path | None = None
) -> tuple[subprocess.Popen[bytes], int, str, Path]:
    ctx = new_store(directory, "server.db")
    _, write_key = source_for(ctx)
    ctx.close()
    db = directory / "server.db"
    proc, port = start_serve({"PARTITUR_DATABASE_URL": f"sqlite:///{db}"}, profile)
    return proc, port, write_key, db


def _request(path: str, body: bytes, write_key: str) -> bytes:
    auth = base64.b64encode(f"{write_key}:".encode()).decode()
    return post(path, body, {"Authorization": f"Basic {auth}"})


def count_events(db: Path) -> int:
    conn = sqlite3.connect(str(db))
    try:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def http_load(
    port: int, requests: list[bytes], processes: int, connections: int, pid: int | None = None
) -> tuple[dict[str, Any], float]:
    """Run the load; returns the load's figures and the server's CPU seconds (if ``pid``)."""
    cpu = cpu_seconds(pid) if pid else 0.0
    load = run_load(port, requests, processes, connections)
    cpu = cpu_seconds(pid) - cpu if pid else 0.0
    if load["failure_samples"]:
        print("  failures:", load["failure_samples"])
    return load, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (< 1 min)")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--connections", type=int, default=16, help="connections per process")
    parser.add_argument("--profile", type=Path, help="record the server with py-spy to this file")
    parser.add_argument(
        "--only",
        default="import,batch,track",
        help="comma-separated parts to run: import, batch, track",
    )
    args = parser.parse_args()
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    import_n = 10_000 if args.smoke else 1_000_000
    batch_requests = 30 if args.smoke else 1_500
    track_requests = 2_000 if args.smoke else 20_000
    report = Report("ingest", smoke=args.smoke)

    with tempfile.TemporaryDirectory(prefix="partitur-bench-") as tmp:
        directory = Path(tmp)
        if "import" not in parts:
            import_n = min(import_n, 100_000)  # enough rows for the storage limit
        messages = make_messages(import_n, seed=1, prefix="imp")
        jsonl = directory / "events.jsonl"
        write_jsonl(jsonl, messages)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        raw_full, _ = raw_insert_rate(directory, messages, "FULL")
        print(f"raw SQLite executemany, synchronous=FULL (the server's): {raw_full:,.0f} rows/s")
        if "import" in parts:
            raw, raw_cpu = raw_insert_rate(directory, messages, "NORMAL")
            del messages  # the import process holds no such list (it would slow the GC down)
            rate, seconds, rate_cpu, main_us, worker_us = bench_import(jsonl, import_n)
            report.figure(
                f"import {import_n:,}-line JSONL",
                rate,
                "events/s",
                baseline=raw,
                baseline_name="raw executemany, synchronous=NORMAL",
                target=at_least(200_000),
                note=f"{seconds:.1f} s; {rate_cpu:,.0f} per CPU-second (ratio "
                f"{rate_cpu / raw_cpu:.2f}); CPU per event: main {main_us:.2f} us, "
                f"workers {worker_us:.2f} us",
            )
        else:
            del messages
        if not parts & {"batch", "track"}:
            print(f"load average after: {os.getloadavg()[0]:.1f}")
            report.finish()
            return

        batch_bodies: list[bytes] = []
        tracks: list[bytes] = []
        batch_events = 0
        proc, port, write_key, db = start_server(directory, args.profile)
        try:
            stored = 0
            if "batch" in parts:
                batch_messages = make_messages(batch_requests * 100, seed=2, prefix="bat")
                batch_events = len(batch_messages)
                batch_bodies = [
                    _request(
                        "/v1/batch",
                        orjson.dumps({"batch": batch_messages[i : i + 100]}),
                        write_key,
                    )
                    for i in range(0, len(batch_messages), 100)
                ]
                batch_load, cpu = http_load(
                    port, batch_bodies, args.processes, max(1, args.connections // 4), proc.pid
                )
                stored = count_events(db)
            if "track" in parts:
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
                track_load, track_cpu = http_load(
                    port, tracks, args.processes, args.connections, proc.pid
                )
            total = count_events(db)
            assert total == stored + len(tracks), (total, stored, len(tracks))
        finally:
            stop(proc, "partitur serve", timeout=60)

        # the raw limit of the HTTP stack: the same requests, clients and connections
        bare, bare_port = start_bare()
        try:
            if batch_bodies:
                bare_batch, _ = http_load(
                    bare_port, batch_bodies, args.processes, max(1, args.connections // 4)
                )
                rate = batch_events / batch_load["seconds"]
                report.figure(
                    "/v1/batch (100 events/request), committed",
                    rate,
                    "events/s",
                    baseline=batch_events / bare_batch["seconds"],
                    baseline_name="bare uvicorn app, same load",
                    target=at_least(30_000),
                    note=f"p50 {batch_load['p50_ms']:.1f} ms, p99 {batch_load['p99_ms']:.1f} ms; "
                    f"{batch_load['failures']} failures; server {batch_events / cpu:,.0f} "
                    f"events per CPU-second; storage limit at FULL {raw_full:,.0f} rows/s",
                )
            if tracks:
                bare_track, _ = http_load(bare_port, tracks, args.processes, args.connections)
                rps = track_load["requests"] / track_load["seconds"]
                report.figure(
                    "/v1/track single events",
                    rps,
                    "requests/s",
                    baseline=bare_track["requests"] / bare_track["seconds"],
                    baseline_name="bare uvicorn app, same load",
                    target=at_least(2_000),
                    note=f"{track_load['failures']} failures; server "
                    f"{track_load['requests'] / track_cpu:,.0f} requests per CPU-second",
                )
                report.figure(
                    "/v1/track p99 latency",
                    track_load["p99_ms"],
                    "ms",
                    baseline=bare_track["p99_ms"],
                    baseline_name="bare uvicorn app, same load",
                    target=Target("<", 50),
                    note=f"p50 {track_load['p50_ms']:.1f} ms",
                )
        finally:
            stop(bare, "bare uvicorn", timeout=30)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    report.finish()


if __name__ == "__main__":
    main()
