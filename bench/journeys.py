"""Journey runtime benchmarks on SQLite, through the loops and settings production uses.

    python bench/journeys.py [--smoke]

1. Event-triggered enrolments through a 5-node journey, consumed by the production event
   consumer (its batch, ``synchronous=FULL``): instance steps per second, target >= 10,000/s.
2. Backfill: a journey with a 6-hour wait published after 14 days of history and replayed over
   it (``journeys.backfill``; compared with figure 1, the live rate).
3. Audience entry as users start it: a trait segment over N profiles is built (segment
   evaluation), the audience scheduler enrols its members and the timer loop takes every
   instance through its first step (a send queued in the outbox). Target 1,000,000 in < 60 s.
4. Timers due within one hour of simulated time, fired by the production timer loop (its batch
   and interval, in its own thread) on a clock running SPEED times faster than real time:
   firing lateness p99 in real seconds, target < 1 s.
5. An event over HTTP -> identity resolution -> waiting instance resumed (its row committed),
   with ``partitur serve --with-worker`` as ``make run`` starts it; p95 target < 200 ms. Also
   ``partitur serve`` and ``partitur worker`` as two processes, with wake-ups through Redis
   and without.

Baselines, measured in the same run: a raw executemany of rows as wide as the transitions
(figures 1-3, at the same ``synchronous``), and the latency of the same POST against a bare
ASGI app on uvicorn (figure 5).
"""

from __future__ import annotations

import argparse
import os
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
sys.path.insert(0, str(ROOT / "bench"))

from _report import Report, at_least, below  # noqa: E402
from bench._httpload import spawn, start_bare, start_serve, stderr_of, stop  # noqa: E402
from tests.support.journeys import add_events, add_templates  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402

from partitur.context import Context  # noqa: E402
from partitur.core.actions import Actor  # noqa: E402
from partitur.core.clock import Clock, SystemClock, VirtualClock  # noqa: E402
from partitur.core.errors import NotFound  # noqa: E402
from partitur.core.ids import new_id  # noqa: E402
from partitur.journeys import service  # noqa: E402
from partitur.journeys.definition import parse_definition  # noqa: E402
from partitur.journeys.loops import AudienceScheduler, EventConsumer, TimerScheduler  # noqa: E402
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
    """A fresh store with the server's settings (``synchronous=FULL``)."""
    url = f"sqlite:///{directory / name}"
    return Context.open(Settings(database_url=url, var_dir=directory / "var"), clock=clock)


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


def baseline_rows_per_second(ctx: Context, n: int, per_transaction: int) -> float:
    """Raw executemany into a table as wide as journey_transitions, ``per_transaction`` rows
    per transaction, on the same store (the store's ceiling at its ``synchronous``)."""
    with ctx.store.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_raw (a TEXT, b TEXT, c TEXT, d TEXT)"))
    rows = [
        {"a": f"i{i}", "b": "node", "c": "2026-01-05 09:00:00", "d": "reason"} for i in range(n)
    ]
    started = time.perf_counter()
    for i in range(0, n, per_transaction):
        with ctx.store.begin() as conn:
            conn.execute(
                text("INSERT INTO bench_raw VALUES (:a, :b, :c, :d)"), rows[i : i + per_transaction]
            )
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
    consumer = EventConsumer(ctx)  # the production batch
    started, cpu = time.perf_counter(), time.process_time()
    while consumer.run_once(clock.now()):
        pass
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    with ctx.store.read() as conn:
        node_steps = conn.execute(
            select(text("count(*)")).select_from(journey_transitions)
        ).scalar()
        instances = conn.execute(select(text("count(*)")).select_from(journey_instances)).scalar()
    baseline = baseline_rows_per_second(ctx, min(n, 100_000), consumer.batch * 6)
    ctx.close()
    assert instances == n, (instances, n)
    return {
        "instances": float(n),
        "seconds": elapsed,
        "node_steps_per_s": float(node_steps or 0) / elapsed,
        "node_steps_per_cpu_s": float(node_steps or 0) / cpu,
        "instances_per_s": n / elapsed,
        "baseline_rows_per_s": baseline,
        "batch": float(consumer.batch),
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


def seed_profiles(ctx: Context, n: int) -> None:
    """``n`` profiles, a third of them on the "pro" plan (an arrangement, not measured)."""
    from partitur.profiles.tables import profiles

    with ctx.store.begin() as conn:
        for start in range(0, n, 20_000):
            conn.execute(
                profiles.insert(),
                [
                    {
                        "id": f"p{i:07d}",
                        "workspace_id": ctx.workspace_id,
                        "created_at": T0,
                        "updated_at": T0,
                        "traits": {"plan": "pro" if i % 3 == 0 else "free"},
                        "trait_times": {},
                        "computed": {},
                        "timezone": "UTC",
                        "locale": "en",
                        "is_test": False,
                    }
                    for i in range(start, min(n, start + 20_000))
                ],
            )


def bench_audience(directory: Path, n: int) -> dict[str, float]:
    """Segment over ``n`` profiles (every one a member) -> audience run -> first step."""
    from partitur.segments import service as segments
    from partitur.segments.contracts import SegmentDefinition

    clock = VirtualClock(T0)
    ctx = open_ctx(directory, "audience.db", clock)
    seed_profiles(ctx, n)
    journey = {
        "key": "aud",
        "name": "Audience",
        "entry": {"type": "audience", "segment": "everyone"},
        "start": "hello",
        "nodes": [{"id": "hello", "type": "send", "channel": "email", "template": "x"}],
    }
    system = Actor.system(ctx.workspace_id, "bench")
    timings: dict[str, float] = {}
    started, cpu = time.perf_counter(), time.process_time()
    with ctx.store.begin() as conn:  # segment evaluation: the initial build over every profile
        segments.create_segment(
            conn,
            workspace_id=ctx.workspace_id,
            definition=SegmentDefinition.model_validate(
                {"key": "everyone", "name": "Everyone", "rule": {"trait": "plan", "op": "exists"}}
            ),
            now=T0,
            actor=system,
        )
    timings["segment"] = time.perf_counter() - started
    publish(ctx, journey, T0)
    mark = time.perf_counter()
    entered = AudienceScheduler(ctx).run_once(clock.now())  # what the worker runs
    timings["enrol"] = time.perf_counter() - mark
    mark = time.perf_counter()
    timers = TimerScheduler(ctx)  # the production batch: every instance's first step
    fired = 0
    while done := timers.run_once(clock.now()):
        fired += done
    timings["first step"] = time.perf_counter() - mark
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    with ctx.store.read() as conn:
        sent = conn.execute(
            select(text("count(*)"))
            .select_from(journey_transitions)
            .where(journey_transitions.c.node_id == "hello")
        ).scalar()
    baseline = baseline_rows_per_second(ctx, min(n, 100_000), 20_000)
    ctx.close()
    assert entered == n and fired == n and sent == n, (entered, fired, sent, n)
    return {
        "profiles": float(n),
        "seconds": elapsed,
        "profiles_per_s": n / elapsed,
        "profiles_per_cpu_s": n / cpu,
        "baseline_rows_per_s": baseline,
        **{f"{k} s": v for k, v in timings.items()},
    }


class _CountingTimers(TimerScheduler):
    """The timer loop, counting what it fires."""

    fired = 0

    def run_once(self, now: datetime) -> int:
        done = super().run_once(now)
        self.fired += done
        return done


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
    scheduler = _CountingTimers(ctx)  # the production batch and interval
    scheduler.clock = clock
    thread = threading.Thread(target=scheduler.run_forever, daemon=True)
    thread.start()
    while clock.now() < end or scheduler.fired < expected:
        time.sleep(0.05)
        if clock.now() > end + timedelta(hours=2):
            break
    scheduler.stop()
    thread.join(timeout=30)
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


def percentiles(latencies: list[float]) -> dict[str, float]:
    latencies = sorted(latencies)
    return {
        "samples": float(len(latencies)),
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[max(0, int(len(latencies) * 0.95) - 1)],
    }


def bare_post_latency(samples: int) -> dict[str, float]:
    """The same POSTs, one after the other, against a bare ASGI app on uvicorn."""
    import httpx

    server, port = start_bare()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            latencies = []
            for i in range(samples):
                started = time.perf_counter()
                http.post("/v1/track", json={"userId": f"u{i}", "event": "Clicked"})
                latencies.append(time.perf_counter() - started)
    finally:
        stop(server, "bare uvicorn")
    return percentiles(latencies)


def bench_served_resume(
    directory: Path, samples: int, *, split: bool, redis_url: str | None = None
) -> dict[str, float]:
    """POST /v1/track -> identity resolution -> the waiting instance has resumed, on a served
    store: ``partitur serve --with-worker`` (one process, as ``make run`` starts it), or with
    ``split`` ``partitur serve`` and ``partitur worker`` as two processes on one SQLite file.
    With ``redis_url`` the API's commits wake the worker through Redis
    (core/redis_signals.py); without, the worker's commit watcher (``PRAGMA data_version``,
    ``Store.watch_commits``) wakes it."""
    import httpx

    from partitur.profiles import service as profiles
    from partitur.workspaces import service as workspaces

    name = f"resume-{'two' if split else 'one'}-{'redis' if redis_url else 'local'}.db"
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
        "PARTITUR_SMTP_PORT": "1",  # nothing listens: sends fail and retry, off the measured path
        "PARTITUR_WORKER_STOP_SECONDS": "10",
    }
    if redis_url:
        env["PARTITUR_REDIS_URL"] = redis_url
    api, port = start_serve(env, extra_args=[] if split else ["--with-worker"])
    processes = [(api, "partitur serve")]
    if split:
        processes.append((spawn([sys.executable, "-m", "partitur", "worker"], env), "worker"))
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
        time.sleep(6.0)  # the loops have seen the enrolments and backed off, as when idle
        latencies = track_until_resumed(ctx, http, ids)
    finally:
        http.close()
        for proc, what in processes:
            if stop(proc, what) != 0:
                print(f"WARNING: {what} exited with {proc.returncode}:\n{stderr_of(proc)}")
        ctx.close()
    return percentiles(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (~1 min)")
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
    report = Report("journeys", smoke=args.smoke)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        ev = bench_event_enrolments(directory, sizes["events"])
        report.figure(
            f"event-triggered enrolments, 5-node journey ({ev['instances']:,.0f})",
            ev["node_steps_per_s"],
            "instance steps/s",
            baseline=ev["baseline_rows_per_s"],
            baseline_name="raw executemany of transition-wide rows",
            target=at_least(10_000),
            note=f"{ev['seconds']:.1f} s, {ev['instances_per_s']:,.0f} instances/s, "
            f"{ev['node_steps_per_cpu_s']:,.0f} steps per CPU-second; consumer batch "
            f"{ev['batch']:.0f}",
        )
        bf = bench_backfill(directory, sizes["backfill"])
        report.figure(
            f"backfill, {bf['instances']:,.0f} instances over {bf['days']:.0f} days",
            bf["steps_per_s"],
            "instance steps/s",
            baseline=ev["node_steps_per_s"],
            baseline_name="the live rate above",
            note=f"{bf['seconds']:.1f} s; {bf['steps_per_cpu_s']:,.0f} per CPU-second",
        )
        au = bench_audience(directory, sizes["audience"])
        report.figure(
            f"audience entry with segment build and first step ({au['profiles']:,.0f})",
            au["seconds"] * 1_000_000 / au["profiles"],
            "s per 1,000,000 profiles",
            baseline=1_000_000 / au["baseline_rows_per_s"],
            baseline_name="raw executemany of 1,000,000 rows",
            target=below(60),
            note=f"{au['seconds']:.1f} s: segment {au['segment s']:.1f} s, enrolment "
            f"{au['enrol s']:.1f} s, first step {au['first step s']:.1f} s; "
            f"{1_000_000 / au['profiles_per_cpu_s']:.1f} CPU-s per 1,000,000",
        )
        tm = bench_timers(directory, sizes["timers"], sizes["speed"], sizes["window"])
        report.figure(
            f"timer lateness p99, {tm['timers']:,.0f} timers due in 1 h at {tm['speed']:g}x "
            "real load",
            tm["p99_s"],
            "s",
            target=below(1.0),
            note=f"first {60 * tm['window']:.0f} min ({tm['fired']:,.0f} timers); p50 "
            f"{tm['p50_s']:.3f} s, max {tm['max_s']:.3f} s; production timer loop",
        )
        bare = bare_post_latency(sizes["latency"])
        one = bench_served_resume(directory, sizes["latency"], split=False)
        report.figure(
            "event over HTTP -> waiting instance resumed, serve --with-worker, p95",
            one["p95_ms"],
            "ms",
            baseline=bare["p95_ms"],
            baseline_name="POST to a bare uvicorn app",
            target=below(200),
            note=f"p50 {one['p50_ms']:.1f} ms over {one['samples']:.0f} events",
        )
        half = max(10, sizes["latency"] // 2)
        redis = RedisServer()
        redis.start()
        try:
            woken = bench_served_resume(directory, half, split=True, redis_url=redis.url)
        finally:
            redis.stop()
        polled = bench_served_resume(directory, half, split=True)
        report.figure(
            "the same, serve and worker as two processes with Redis wake-ups, p95",
            woken["p95_ms"],
            "ms",
            baseline=bare["p95_ms"],
            baseline_name="POST to a bare uvicorn app",
            note=f"p50 {woken['p50_ms']:.1f} ms over {woken['samples']:.0f} events",
        )
        report.figure(
            "the same, two processes without Redis, p95",
            polled["p95_ms"],
            "ms",
            baseline=bare["p95_ms"],
            baseline_name="POST to a bare uvicorn app",
            note=f"p50 {polled['p50_ms']:.1f} ms over {polled['samples']:.0f} events",
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    report.finish()


if __name__ == "__main__":
    main()
