"""Segments benchmark (SQLite): initial build over many profiles and incremental throughput.

    python bench/segments.py            # 1,000,000 profiles, 100,000 events
    python bench/segments.py --smoke    # small sizes, < 20 s (CI)

On a store with the server's settings (``synchronous=FULL``). Prints, each with a baseline
measured in the same run:
* initial build of a trait segment over every profile (set-based SQL) vs a hand-written
  ``SELECT COUNT(*)`` with the same predicate over the same table, and reading the audience in
  chunks (what a journey's audience entry does downstream; target < 60 s for 1,000,000);
* incremental membership: events/s through the event membership loop vs reading the same events.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report, below

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.events.tables import events
from partitur.identity.loops import IdentityResolver
from partitur.profiles.tables import profiles
from partitur.segments import service
from partitur.segments.contracts import SegmentDefinition
from partitur.segments.loops import EventMembershipLoop
from partitur.settings import Settings

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PLANS = ["free", "pro", "team"]


def seed_profiles(ctx: Context, count: int, rng: random.Random) -> list[str]:
    ids = [f"prf_{n:09d}" for n in range(count)]
    with ctx.store.begin() as conn:
        for start in range(0, count, 20_000):
            conn.execute(
                profiles.insert(),
                [
                    {
                        "id": pid,
                        "workspace_id": ctx.workspace_id,
                        "created_at": NOW,
                        "updated_at": NOW,
                        "traits": {"plan": rng.choice(PLANS), "age": rng.randint(18, 80)},
                        "trait_times": {},
                        "computed": {"orders": rng.randint(0, 5)},
                        "is_test": False,
                    }
                    for pid in ids[start : start + 20_000]
                ],
            )
    return ids


def seed_events(ctx: Context, ids: list[str], count: int, rng: random.Random) -> None:
    names = ["Page Viewed", "Page Viewed", "Order Completed", "Product Viewed"]
    with ctx.store.begin() as conn:
        for start in range(0, count, 20_000):
            rows = []
            for n in range(start, min(count, start + 20_000)):
                at = NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 10))
                rows.append(
                    {
                        "workspace_id": ctx.workspace_id,
                        "source_id": "bench",
                        "message_id": f"m{n}",
                        "type": "track",
                        "event": rng.choice(names),
                        "profile_id": rng.choice(ids),
                        "timestamp": at,
                        "received_at": at,
                        "properties": {"category": rng.choice(["mortgage", "cards"])},
                    }
                )
            conn.execute(events.insert(), rows)


def define(ctx: Context, key: str, rule: dict[str, object]) -> float:
    started = time.perf_counter()
    with ctx.store.begin() as conn:
        service.create_segment(
            conn,
            workspace_id=ctx.workspace_id,
            definition=SegmentDefinition.model_validate({"key": key, "name": key, "rule": rule}),
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "bench"),
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (< 20 s)")
    parser.add_argument("--profiles", type=int, default=None)
    parser.add_argument("--events", type=int, default=None)
    args = parser.parse_args()
    n_profiles = args.profiles or (20_000 if args.smoke else 1_000_000)
    n_events = args.events or (5_000 if args.smoke else 100_000)
    rng = random.Random(7)
    report = Report("segments", smoke=args.smoke)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", var_dir=Path(tmp))
        ctx = Context.open(settings, clock=VirtualClock(NOW))
        t0 = time.perf_counter()
        ids = seed_profiles(ctx, n_profiles, rng)
        print(f"seeded {n_profiles:,} profiles in {time.perf_counter() - t0:.1f} s")

        # --- initial build ------------------------------------------------------------------
        with ctx.store.read() as conn:
            started = time.perf_counter()
            baseline_count = conn.execute(
                sa.text(
                    "SELECT COUNT(*) FROM profiles WHERE workspace_id = :ws "
                    "AND merged_into IS NULL AND lower(json_extract(traits, '$.plan')) = 'pro' "
                    "AND json_extract(traits, '$.age') >= 30"
                ),
                {"ws": ctx.workspace_id},
            ).scalar()
            baseline = time.perf_counter() - started
        build = define(
            ctx,
            "pro-30",
            {
                "all": [
                    {"trait": "plan", "value": "pro"},
                    {"trait": "age", "op": "gte", "value": 30},
                ]
            },
        )
        with ctx.store.read() as conn:
            size = service.size(conn, workspace_id=ctx.workspace_id, segment_key="pro-30")
            started = time.perf_counter()
            read = sum(
                len(chunk)
                for chunk in service.audience(
                    conn, workspace_id=ctx.workspace_id, segment_key="pro-30"
                )
            )
            audience_s = time.perf_counter() - started
        assert size == baseline_count == read, (size, baseline_count, read)
        report.figure(
            f"segment initial build over {n_profiles:,} profiles ({size:,} members)",
            build,
            "s",
            baseline=baseline,
            baseline_name="hand-written COUNT(*), same predicate",
        )
        report.figure(
            f"segment build + reading the audience in chunks, {n_profiles:,} profiles",
            build + audience_s,
            "s",
            target=below(60),
            note=f"audience read {audience_s:.2f} s",
        )

        # --- incremental ------------------------------------------------------------------
        active = ids[: min(len(ids), 10_000)]
        define(ctx, "buyers", {"event": "Order Completed", "within": "P30D"})
        define(
            ctx,
            "mortgage-research",
            {
                "event": "Page Viewed",
                "where": [{"property": "category", "value": "mortgage"}],
                "within": "P7D",
                "count": {"op": "gte", "value": 3},
            },
        )
        loop = EventMembershipLoop(ctx)
        while loop.run_once(ctx.clock.now()):  # catch up with nothing
            pass
        seed_events(ctx, active, n_events, rng)
        # the events arrive attributed; the resolver still has to pass them (not timed) so
        # that loops following resolved events may read them
        IdentityResolver(ctx).run_until_idle()
        with ctx.store.read() as conn:
            started = time.perf_counter()
            conn.execute(sa.select(events)).fetchall()
            read_s = time.perf_counter() - started
        started = time.perf_counter()
        consumed = 0
        while (n := loop.run_once(ctx.clock.now())) > 0:
            consumed += n
        incremental = time.perf_counter() - started
        with ctx.store.read() as conn:
            changes = len(
                service.changes_since(conn, workspace_id=ctx.workspace_id, after=0, limit=10**9)
            )
        rate = consumed / incremental
        report.figure(
            f"incremental membership, {consumed:,} events over {len(active):,} profiles",
            rate,
            "events/s",
            baseline=consumed / max(read_s, 1e-9),
            baseline_name="reading the same events",
            note=f"{incremental:.2f} s; {changes:,} membership changes",
        )
        ctx.close()
    report.finish()


if __name__ == "__main__":
    main()
