"""Journey runtime benchmarks on SQLite.

    python bench/journeys.py [--smoke]

1. Event-triggered enrolments through a 5-node journey: instance steps (node executions) per
   second, target >= 10,000/s.
2. Audience entry of a segment of N profiles (bulk insert of instances + start timers), target
   1,000,000 in < 60 s.
3. Timers due within one hour of simulated time, fired by the scheduler on a clock running
   SPEED times faster than real time: firing lateness p99 (in real seconds, under SPEED times
   the real load), target < 1 s.
4. Event ingested over HTTP (``POST /v1/track`` on a served app) -> identity resolution ->
   waiting instance resumed (its row committed), p95 target < 200 ms.
5. Backfill: a journey with a 6-hour wait published after 14 days of history and replayed over
   it (``journeys.backfill``; no target: the figure is compared with figure 1, the live rate).

Each figure is printed with a baseline measured in the same run: a raw executemany insert of
rows of the same width into SQLite (what the store can do without any journey logic).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._httpload import spawn, start_serve, stderr_of, stop  # noqa: E402
from tests.support.journeys import add_event, add_events, add_templates  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402

from partitur.context import Context  # noqa: E402
from partitur.core.actions import Actor  # noqa: E402
from partitur.core.clock import Clock, SystemClock, VirtualClock  # noqa: E402
from partitur.core.errors import NotFound  # noqa: E402
from partitur.core.ids import new_id  # noqa: E402
from partitur.journeys import ports, service  # noqa: E402
from partitur.journeys.definition import parse_definition  # noqa: E402
from partitur.journeys.loops import EventConsumer  # noqa: E402
from partitur.journeys.tables import (  # noqa: E402
    journey_instances,
    journey_timers,
    journey_transitions,
)
from partitur.settings import Settings  # noqa: E402

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

FIVE_NODES = {
    "key": "five",
    "name": "Five nodes",
    "entry": {"type": "event", "event": "Signed Up"},
    "start": "hello",
    "nodes": [
        {"id": "hello", "type": "send", "channel": "email", "template": "hello", "next": "vip"},
        {
            "id": "vip",
            "type": "branch",
            "cases": [{"when": {"trait": "plan", "op": "eq", "value": "pro"}, "next": "pro"}],
            "else": "ab",
        },
        {"id": "pro", "type": "send", "channel": "email", "template": "pro", "next": "done"},
        {
            "id": "ab",
            "type": "split",
            "variants": [
                {"key": "a", "weight": 1, "next": "tips"},
                {"key": "b", "weight": 1, "next": "tips"},
            ],
        },
        {"id": "tips", "type": "send", "channel": "sms", "template": "tips", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}


def open_ctx(directory: Path, name: str, clock: Clock) -> Context:
    url = f"sqlite:///{directory / name}"
    return Context.open(Settings(database_url=url, sqlite_synchronous="NORMAL"), clock=clock)


def publish(ctx: Context, document: dict[str, Any], now: datetime) -> str:
    with ctx.store.begin() as conn:
        add_templates(
            conn,
            workspace_id=ctx.workspace_id,
            refs=parse_definition(document).template_refs(),
            now=now,
        )
        service.save_draft(
            conn,
            workspace_id=ctx.workspace_id,
            document=document,
            now=now,
            actor=Actor.system(ctx.workspace_id, "bench"),
        )
        return service.publish(
            conn,
            workspace_id=ctx.workspace_id,
            key=document["key"],
            now=now,
            actor=Actor.system(ctx.workspace_id, "bench"),
        ).journey_id


def baseline_rows_per_second(ctx: Context, n: int) -> float:
    """Raw executemany into a table as wide as journey_transitions (the store's ceiling)."""
    with ctx.store.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_raw (a TEXT, b TEXT, c TEXT, d TEXT)"))
    rows = [
        {"a": f"i{i}", "b": "node", "c": "2026-01-05 09:00:00", "d": "reason"} for i in range(n)
    ]
    started = time.perf_counter()
    with ctx.store.begin() as conn:
        conn.execute(text("INSERT INTO bench_raw VALUES (:a, :b, :c, :d)"), rows)
    return n / (time.perf_counter() - started)


def bench_event_enrolments(directory: Path, n: int) -> dict[str, float]:
    clock = VirtualClock(T0)
    ctx = open_ctx(directory, "events.db", clock)
    publish(ctx, FIVE_NODES, T0)
    with ctx.store.begin() as conn:
        for i in range(0, n, 10_000):
            add_events(
                conn,
                workspace_id=ctx.workspace_id,
                rows=[(f"p{j:07d}", "Signed Up", T0) for j in range(i, min(n, i + 10_000))],
            )
    consumer = EventConsumer(ctx, batch=2000)
    started, cpu = time.perf_counter(), time.process_time()
    while consumer.run_once(clock.now()):
        pass
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    with ctx.store.read() as conn:
        node_steps = conn.execute(
            select(text("count(*)")).select_from(journey_transitions)
        ).scalar()
        instances = conn.execute(select(text("count(*)")).select_from(journey_instances)).scalar()
    baseline = baseline_rows_per_second(ctx, 100_000)
    ctx.close()
    assert instances == n, (instances, n)
    return {
        "instances": float(n),
        "seconds": elapsed,
        "node_steps_per_s": float(node_steps or 0) / elapsed,
        "node_steps_per_cpu_s": float(node_steps or 0) / cpu,
        "instances_per_s": n / elapsed,
        "baseline_rows_per_s": baseline,
    }


def bench_backfill(directory: Path, n: int) -> dict[str, float]:
    from partitur.journeys.backfill import backfill

    clock = VirtualClock(T0)
    ctx = open_ctx(directory, "backfill.db", clock)
    days = 14
    spread = timedelta(days=days) / n
    with ctx.store.begin() as conn:
        for i in range(0, n, 10_000):
            add_events(
                conn,
                workspace_id=ctx.workspace_id,
                rows=[
                    (f"p{j:07d}", "Signed Up", T0 + j * spread)
                    for j in range(i, min(n, i + 10_000))
                ],
            )
    waiting = {
        **FIVE_NODES,
        "key": "five-wait",
        "nodes": [
            {**FIVE_NODES["nodes"][0], "next": "later"},
            {"id": "later", "type": "wait", "duration": "PT6H", "next": "vip"},
            *FIVE_NODES["nodes"][1:],
        ],
    }
    clock.set(T0 + timedelta(days=days))
    publish(ctx, waiting, clock.now())
    started, cpu = time.perf_counter(), time.process_time()
    result = backfill(
        ctx, keys=["five-wait"], since=T0, actor=Actor.system(ctx.workspace_id, "bench")
    )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    with ctx.store.read() as conn:
        # instance steps as in figure 1: node executions (transitions)
        node_steps = float(
            conn.execute(select(text("count(*)")).select_from(journey_transitions)).scalar() or 0
        )
    ctx.close()
    assert sum(result.instances["five-wait"].values()) == n, result.instances
    return {
        "instances": float(n),
        "days": float(days),
        "seconds": elapsed,
        "steps_per_s": node_steps / elapsed,
        "steps_per_cpu_s": node_steps / cpu,
    }


def bench_audience(directory: Path, n: int) -> dict[str, float]:
    clock = VirtualClock(T0)
    ctx = open_ctx(directory, "audience.db", clock)
    journey_id = publish(
        ctx,
        {
            "key": "aud",
            "name": "Audience",
            "entry": {"type": "audience", "segment": "all"},
            "start": "hello",
            "nodes": [{"id": "hello", "type": "send", "channel": "email", "template": "x"}],
        },
        T0,
    )
    ids = [f"p{i:07d}" for i in range(n)]
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, n, 20_000):
        with ctx.store.begin() as conn:
            service.enrol_bulk(
                conn,
                workspace_id=ctx.workspace_id,
                journey_id=journey_id,
                version=1,
                profile_ids=ids[i : i + 20_000],
                now=T0,
            )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    ctx.close()
    return {
        "profiles": float(n),
        "seconds": elapsed,
        "profiles_per_s": n / elapsed,
        "profiles_per_cpu_s": n / cpu,
    }


class ScaledClock:
    def __init__(self, start: datetime, speed: float) -> None:
        self.start, self.speed, self.epoch = start, speed, time.perf_counter()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.perf_counter() - self.epoch) * self.speed)


def bench_timers(directory: Path, n: int, speed: float, window: float) -> dict[str, float]:
    """``n`` timers due evenly over one simulated hour, all in the table; the scheduler runs on
    a clock ``speed`` times faster than real time for the first ``window`` of that hour."""
    setup_clock = VirtualClock(T0)
    ctx = open_ctx(directory, "timers.db", setup_clock)
    journey_id = publish(
        ctx,
        {
            "key": "timers",
            "name": "Timers",
            "entry": {"type": "manual"},
            "start": "w",
            "nodes": [
                {"id": "w", "type": "wait", "duration": "PT1H", "next": "s"},
                {"id": "s", "type": "send", "channel": "email", "template": "t"},
            ],
        },
        T0,
    )
    lead = timedelta(seconds=1 * speed)  # a few real seconds before the first timer is due
    due: dict[str, datetime] = {}
    for i in range(0, n, 20_000):
        chunk = range(i, min(n, i + 20_000))
        ids = [new_id("jin") for _ in chunk]
        instances, timers = [], []
        for iid, j in zip(ids, chunk, strict=True):
            at = T0 + lead + timedelta(seconds=3600 * j / n)
            due[iid] = at
            instances.append(
                {
                    "id": iid,
                    "workspace_id": ctx.workspace_id,
                    "journey_id": journey_id,
                    "version": 1,
                    "profile_id": f"p{j:07d}",
                    "status": "active",
                    "entered_at": T0,
                    "current_node": "w",
                    "split_variants": {},
                    "state": {
                        "waiting": {
                            "node": "w",
                            "kind": "timer",
                            "until": at.isoformat(),
                            "token": 1,
                            "event": None,
                        },
                        "visits": {"w": 1},
                        "jumps": {},
                        "tokens": 1,
                    },
                    "rev": 1,
                    "is_test": False,
                }
            )
            timers.append(
                {
                    "workspace_id": ctx.workspace_id,
                    "instance_id": iid,
                    "node_id": "w",
                    "token": 1,
                    "due_at": at,
                }
            )
        with ctx.store.begin() as conn:
            conn.execute(journey_instances.insert(), instances)
            conn.execute(journey_timers.insert(), timers)
    clock = ScaledClock(T0, speed)
    end = T0 + lead + timedelta(hours=window)
    expected = int(n * window)
    fired = 0
    while clock.now() < end or fired < expected:
        with ctx.store.begin() as conn:
            done = service.fire_timers(
                conn, workspace_id=ctx.workspace_id, now=clock.now(), limit=2000
            )
        fired += done
        if not done:
            time.sleep(0.01)
        if clock.now() > end + timedelta(hours=2):
            break
    lateness = []
    with ctx.store.read() as conn:
        for row in conn.execute(
            select(journey_transitions.c.instance_id, journey_transitions.c.at).where(
                journey_transitions.c.node_id == "s"
            )
        ):
            if due[row.instance_id] <= end:
                lateness.append((row.at - due[row.instance_id]).total_seconds() / speed)
    ctx.close()
    lateness.sort()
    p99 = lateness[int(len(lateness) * 0.99) - 1] if lateness else float("nan")
    return {
        "timers": float(n),
        "window": window,
        "fired": float(len(lateness)),
        "speed": speed,
        "p50_s": statistics.median(lateness) if lateness else float("nan"),
        "p99_s": p99,
        "max_s": lateness[-1] if lateness else float("nan"),
    }


def bench_commit_resume_latency(directory: Path, samples: int) -> dict[str, float]:
    """Without identity resolution: event committed (with its profile_id) -> resumed."""
    ctx = open_ctx(directory, "latency.db", SystemClock())
    now = SystemClock().now()
    publish(ctx, RESUME_JOURNEY, now)
    with ctx.store.begin() as conn:
        service.enrol(
            conn,
            workspace_id=ctx.workspace_id,
            key="resume",
            profile_ids=[f"p{i}" for i in range(samples)],
            now=now,
            actor=Actor.system(ctx.workspace_id, "bench"),
        )
    consumer = EventConsumer(ctx)
    consumer.interval_seconds = 1.0
    thread = threading.Thread(target=consumer.run_forever, daemon=True)
    thread.start()
    latencies = []
    for i in range(samples):
        with ctx.store.begin() as conn:
            add_event(
                conn,
                workspace_id=ctx.workspace_id,
                profile_id=f"p{i}",
                event="Clicked",
                at=SystemClock().now(),
            )
        committed = time.perf_counter()
        ctx.signals.notify("events")  # what ingestion says after its commit
        while True:
            with ctx.store.read() as conn:
                status = conn.execute(
                    select(journey_instances.c.status).where(
                        journey_instances.c.profile_id == f"p{i}"
                    )
                ).scalar()
            if status != "active":
                break
            time.sleep(0.001)
        latencies.append(time.perf_counter() - committed)
    consumer.stop()
    thread.join(timeout=5)
    ctx.close()
    latencies.sort()
    return {
        "samples": float(samples),
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(len(latencies) * 0.95) - 1],
    }


RESUME_JOURNEY: dict[str, Any] = {
    "key": "resume",
    "name": "Resume",
    "entry": {"type": "manual"},
    "start": "w",
    "nodes": [
        {"id": "w", "type": "wait_for_event", "event": "Clicked", "timeout": "P1D", "next": "s"},
        {"id": "s", "type": "send", "channel": "email", "template": "t"},
    ],
}


def track_until_resumed(ctx: Context, http: Any, ids: list[str]) -> list[float]:
    """For each profile in turn (``u{i}`` has id ``ids[i]``): POST a Clicked track, then poll
    until its waiting instance has left the wait; the seconds each took."""
    latencies = []
    for i, profile_id in enumerate(ids):
        started = time.perf_counter()
        http.post("/v1/track", json={"userId": f"u{i}", "event": "Clicked"}).raise_for_status()
        while True:
            with ctx.store.read() as conn:
                status = conn.execute(
                    select(journey_instances.c.status).where(
                        journey_instances.c.profile_id == profile_id
                    )
                ).scalar()
            if status != "active":
                break
            time.sleep(0.001)
        latencies.append(time.perf_counter() - started)
    return latencies


def bench_http_resume_latency(directory: Path, samples: int) -> dict[str, float]:
    """Served app (uvicorn on 127.0.0.1) + identity resolver + journey event consumer threads:
    POST /v1/track -> the waiting instance has resumed (its row committed)."""
    import socket

    import httpx
    import uvicorn

    from partitur.app import create_app
    from partitur.identity.loops import IdentityResolver
    from partitur.profiles import service as profiles
    from partitur.workspaces import service as workspaces

    ctx = open_ctx(directory, "latency.db", SystemClock())
    now = SystemClock().now()
    publish(ctx, RESUME_JOURNEY, now)
    with ctx.store.begin() as conn:
        write_key = workspaces.create_source(
            conn,
            workspace_id=ctx.workspace_id,
            name="web",
            now=now,
            actor=Actor.system(ctx.workspace_id, "bench"),
        ).write_key
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ctx.settings, ctx=ctx), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=(write_key, ""))
    for i in range(samples):
        http.post("/v1/identify", json={"userId": f"u{i}", "traits": {"n": i}}).raise_for_status()
    resolver = IdentityResolver(ctx)
    resolver.run_until_idle()
    with ctx.store.begin() as conn:
        ids = [
            profiles.find_profile(
                conn, workspace_id=ctx.workspace_id, kind="user_id", value=f"u{i}"
            ).id
            for i in range(samples)
        ]
        service.enrol(
            conn,
            workspace_id=ctx.workspace_id,
            key="resume",
            profile_ids=ids,
            now=now,
            actor=Actor.system(ctx.workspace_id, "bench"),
        )
    consumer = EventConsumer(ctx)
    loops = [resolver, consumer]
    threads = [threading.Thread(target=loop.run_forever, daemon=True) for loop in loops]
    for t in threads:
        t.start()
    latencies = track_until_resumed(ctx, http, ids)
    for loop in loops:
        loop.stop()
    for t in threads:
        t.join(timeout=5)
    server.should_exit = True
    http.close()
    ctx.close()
    latencies.sort()
    return {
        "samples": float(samples),
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(len(latencies) * 0.95) - 1],
    }


def bench_scaleout_resume(directory: Path, samples: int, redis_url: str | None) -> dict[str, float]:
    """``partitur serve`` (API only) and ``partitur worker`` as two processes on one SQLite file:
    POST /v1/track -> the waiting instance has resumed. With ``redis_url`` the API's commits wake
    the worker through Redis (bus/signals.py); without, the worker finds the event at its next
    poll (loops poll every second)."""
    import httpx

    from partitur.profiles import service as profiles
    from partitur.workspaces import service as workspaces

    name = "scaleout-redis.db" if redis_url else "scaleout-poll.db"
    ctx = open_ctx(directory, name, SystemClock())
    now = SystemClock().now()
    publish(ctx, RESUME_JOURNEY, now)
    with ctx.store.begin() as conn:
        write_key = workspaces.create_source(
            conn,
            workspace_id=ctx.workspace_id,
            name="web",
            now=now,
            actor=Actor.system(ctx.workspace_id, "bench"),
        ).write_key
    env = {
        "PARTITUR_DATABASE_URL": f"sqlite:///{directory / name}",
        "PARTITUR_VAR_DIR": str(directory / "var"),
        "PARTITUR_SQLITE_SYNCHRONOUS": "NORMAL",
        "PARTITUR_SMTP_PORT": "1",  # nothing listens: sends fail and retry, off the measured path
        "PARTITUR_WORKER_STOP_SECONDS": "10",
    }
    if redis_url:
        env["PARTITUR_REDIS_URL"] = redis_url
    api, port = start_serve(env)
    worker = spawn([sys.executable, "-m", "partitur", "worker"], env)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=(write_key, ""))
    try:
        for i in range(samples):
            http.post("/v1/identify", json={"userId": f"u{i}"}).raise_for_status()
        ids: list[str] = []
        deadline = time.monotonic() + 120
        while len(ids) < samples and time.monotonic() < deadline:
            time.sleep(0.2)  # the worker's resolver creates the profiles
            ids = []
            with ctx.store.read() as conn:
                for i in range(samples):
                    try:
                        ids.append(
                            profiles.find_profile(
                                conn, workspace_id=ctx.workspace_id, kind="user_id", value=f"u{i}"
                            ).id
                        )
                    except NotFound:
                        break
        with ctx.store.begin() as conn:
            service.enrol(
                conn,
                workspace_id=ctx.workspace_id,
                key="resume",
                profile_ids=ids,
                now=now,
                actor=Actor.system(ctx.workspace_id, "bench"),
            )
        time.sleep(1.5)  # the worker has seen the enrolments
        latencies = track_until_resumed(ctx, http, ids)
    finally:
        http.close()
        for proc, what in ((api, "partitur serve"), (worker, "partitur worker")):
            if stop(proc, what) != 0:
                print(f"WARNING: {what} exited with {proc.returncode}:\n{stderr_of(proc)}")
        ctx.close()
    latencies.sort()
    return {
        "samples": float(samples),
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(len(latencies) * 0.95) - 1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (< 20 s)")
    args = parser.parse_args()
    sizes = (
        {
            "events": 3_000,
            "backfill": 2_000,
            "audience": 20_000,
            "timers": 2_000,
            "speed": 900.0,
            "window": 1.0,
            "latency": 30,
        }
        if args.smoke
        else {
            "events": 100_000,
            "backfill": 20_000,
            "audience": 1_000_000,
            "timers": 1_000_000,
            "speed": 4.0,
            "window": 0.25,
            "latency": 200,
        }
    )
    assert ports.known_channels() is None or "email" in (ports.known_channels() or set())
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        ev = bench_event_enrolments(directory, sizes["events"])
        print(
            f"event-triggered enrolments: {ev['instances']:.0f} instances in "
            f"{ev['seconds']:.1f} s = {ev['instances_per_s']:.0f} instances/s, "
            f"{ev['node_steps_per_s']:.0f} instance steps/s "
            f"(target >= 10000; ratio {ev['node_steps_per_s'] / 10000:.2f}); per CPU second "
            f"{ev['node_steps_per_cpu_s']:.0f}/s; "
            f"raw SQLite insert baseline {ev['baseline_rows_per_s']:.0f} rows/s "
            f"(steps/baseline {ev['node_steps_per_s'] / ev['baseline_rows_per_s']:.3f})"
        )
        bf = bench_backfill(directory, sizes["backfill"])
        print(
            f"backfill: {bf['instances']:.0f} instances over {bf['days']:.0f} days of history in "
            f"{bf['seconds']:.1f} s = {bf['steps_per_s']:.0f} instance steps/s "
            f"({bf['steps_per_cpu_s']:.0f} per CPU s; ratio to the live rate above "
            f"{bf['steps_per_s'] / ev['node_steps_per_s']:.2f})"
        )
        au = bench_audience(directory, sizes["audience"])
        print(
            f"audience entry: {au['profiles']:.0f} profiles in {au['seconds']:.1f} s = "
            f"{au['profiles_per_s']:.0f}/s (target 1,000,000 in < 60 s; projected "
            f"{1_000_000 / au['profiles_per_s']:.1f} s wall, "
            f"{1_000_000 / au['profiles_per_cpu_s']:.1f} s CPU)"
        )
        tm = bench_timers(directory, sizes["timers"], sizes["speed"], sizes["window"])
        print(
            f"timers: {tm['timers']:.0f} due within 1 h of simulated time; the first "
            f"{60 * tm['window']:.0f} min ({tm['fired']:.0f} timers) run at "
            f"{tm['speed']:.0f}x real load; lateness p50 {tm['p50_s']:.3f} s, "
            f"p99 {tm['p99_s']:.3f} s, "
            f"max {tm['max_s']:.3f} s (target p99 < 1 s)"
        )
        if importlib.util.find_spec("partitur.identity.loops") is None:
            la = bench_commit_resume_latency(directory, sizes["latency"])
            print(
                f"event committed -> waiting instance resumed: p50 {la['p50_ms']:.1f} ms, "
                f"p95 {la['p95_ms']:.1f} ms over {la['samples']:.0f} events (target p95 < 200 ms; "
                "identity resolution is not installed, so measured from the event's commit)"
            )
            return
        la = bench_http_resume_latency(directory, sizes["latency"])
        print(
            f"event over HTTP -> waiting instance resumed: p50 {la['p50_ms']:.1f} ms, "
            f"p95 {la['p95_ms']:.1f} ms over {la['samples']:.0f} events (target p95 < 200 ms; "
            "POST /v1/track, identity resolution and the journey consumer in one process)"
        )
        scale = sizes["latency"] // 2
        polled = bench_scaleout_resume(directory, scale, None)
        redis = RedisServer()
        redis.start()
        try:
            woken = bench_scaleout_resume(directory, scale, redis.url)
        finally:
            redis.stop()
        print(
            f"  API and worker as two processes: p50 {woken['p50_ms']:.1f} ms, p95 "
            f"{woken['p95_ms']:.1f} ms with wake-ups through Redis; p50 {polled['p50_ms']:.1f} "
            f"ms, p95 {polled['p95_ms']:.1f} ms when the worker only polls (ratio "
            f"{polled['p95_ms'] / woken['p95_ms']:.1f}x)"
        )


if __name__ == "__main__":
    main()
