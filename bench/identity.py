"""Identity resolution benchmark (SQLite).

1,000,000 events from 200,000 people, 50,000 of whom browse anonymously and sign in on another
device first, then link the two (anonymous-to-known merges of two existing profiles).
Prints the resolution rate and its ratio to the raw SQLite insert rate of the same rows, both
with the server's setting (``synchronous=FULL``). Target: 1,000,000 events resolved in < 30 s.

    python bench/identity.py [--smoke] [--events N --people N --merges N]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report, below

from partitur.context import Context
from partitur.core.clock import VirtualClock
from partitur.identity.loops import IdentityResolver
from partitur.settings import Settings

COLUMNS = (
    "workspace_id, source_id, message_id, type, event, user_id, anonymous_id, timestamp, "
    "received_at, properties, traits, context, extra"
)


def build_rows(
    events: int, people: int, merges: int, workspace_id: str
) -> tuple[list[tuple], list[tuple]]:
    """The people's first events (shuffled) and, later, the identify calls linking devices."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    base, extra = divmod(max(events - merges, people), people)
    rows: list[tuple] = []

    def ts(k: int) -> str:
        return (start + timedelta(seconds=k)).strftime("%Y-%m-%d %H:%M:%S.%f")

    def row(kind, event, user, anon, k, props=None, traits=None, context=None):
        return (
            workspace_id,
            "src_bench",
            uuid.UUID(int=rng.getrandbits(128)).hex,
            kind,
            event,
            user,
            anon,
            ts(k),
            ts(k),
            props,
            traits,
            context,
            None,
        )

    body: list[tuple] = []
    for p in range(people):
        user, anon = f"user-{p}", f"anon-{p}"
        merging = p < merges
        per_person = base + (1 if p < extra else 0)
        for j in range(per_person):
            k = rng.randrange(10_000_000)
            if j == 0:
                email = f"person{p}@example.com"
                body.append(
                    row(
                        "identify",
                        None,
                        user,
                        None,
                        k,
                        traits=f'{{"email": "{email}", "name": "P {p}", "plan": "basic"}}',
                    )
                )
            elif merging and j < per_person - 1:
                body.append(row("page", "Home", None, anon, k, context='{"locale": "de-DE"}'))
            elif j % 3 == 2:
                body.append(
                    row("track", "Order Completed", user, None, k, props='{"revenue": 19.9}')
                )
            else:
                body.append(row("track", "Product Viewed", user, None, k, props='{"sku": "A"}'))
    rng.shuffle(body)
    rows.extend(body[: events - merges])
    links: list[tuple] = []
    for p in range(merges):
        links.append(
            row(
                "identify",
                None,
                f"user-{p}",
                f"anon-{p}",
                10_000_000 + p,
                traits='{"plan": "premium"}',
            )
        )
    return rows, links


def insert_raw(db: Path, rows: list[tuple]) -> float:
    """Insert the rows with plain sqlite3 (the storage limit, at the server's ``synchronous``);
    returns seconds."""
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA synchronous=FULL")
    marks = ", ".join("?" for _ in COLUMNS.split(","))
    t0 = time.perf_counter()
    raw.execute("BEGIN IMMEDIATE")
    raw.executemany(f"INSERT INTO events ({COLUMNS}) VALUES ({marks})", rows)
    raw.execute("COMMIT")
    seconds = time.perf_counter() - t0
    raw.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="small sizes (< 20 s)")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--merges", type=int, default=50_000)
    parser.add_argument(
        "--batch", type=int, default=None, help="events per pass (default: the resolver's)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.events, args.people, args.merges = 50_000, 10_000, 2_500

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        settings = Settings(database_url=f"sqlite:///{db}", var_dir=Path(tmp) / "var")
        ctx = Context.open(settings, clock=VirtualClock(datetime(2026, 6, 1, tzinfo=UTC)))
        first, links = build_rows(args.events, args.people, args.merges, ctx.workspace_id)
        resolver = IdentityResolver(ctx, batch_size=args.batch)
        batch = resolver.config.batch_size
        insert_s = resolve_s = resolve_cpu = checkpoint_s = 0.0
        handled = 0
        # the first visits and sign-ins, then the identify calls that link the devices
        for rows in (first, links):
            insert_s += insert_raw(db, rows)
            t0, c0 = time.perf_counter(), time.process_time()
            handled += resolver.run_until_idle()
            resolve_s += time.perf_counter() - t0
            resolve_cpu += time.process_time() - c0
            # the WAL copy a pass leaves to the store's checkpoint thread, which runs on
            # beside whatever comes next; shown on its own line
            t0 = time.perf_counter()
            ctx.store.wait_checkpoint()
            checkpoint_s += time.perf_counter() - t0
        rows = first + links

        check = sqlite3.connect(db)
        profiles = check.execute(
            "SELECT count(*) FROM profiles WHERE merged_into IS NULL"
        ).fetchone()[0]
        merged = check.execute("SELECT count(*) FROM identity_merges").fetchone()[0]
        open_ = check.execute("SELECT count(*) FROM events WHERE profile_id IS NULL").fetchone()[0]
        check.close()
        ctx.close()

    n = len(rows)
    insert_rate, resolve_rate = n / insert_s, handled / resolve_s
    report = Report("identity", smoke=args.smoke)
    print(f"people / merges         {args.people:>12,} / {args.merges:,}")
    print(f"events per pass (max)   {batch:>12,}")
    print(f"load average            {os.getloadavg()[0]:>12.1f} on {os.cpu_count()} cores")
    print(f"profiles (live)         {profiles:>12,}")
    print(f"merges recorded         {merged:>12,}")
    print(f"events without profile  {open_:>12,}")
    if not (profiles == args.people and merged == args.merges and open_ == 0):
        print("FAILED: unexpected profile/merge counts", file=sys.stderr)
        sys.exit(1)
    report.figure(
        f"identity resolution, {n:,} events",
        resolve_rate,
        "events/s",
        baseline=insert_rate,
        baseline_name="raw SQLite insert of the same rows",
        note=f"{handled / resolve_cpu:,.0f} events per CPU-second; then WAL checkpoint "
        f"{checkpoint_s:.2f} s on a side thread",
    )
    report.figure(
        f"identity resolution time, {n:,} events",
        resolve_s,
        "s",
        baseline=insert_s,
        baseline_name="raw SQLite insert",
        target=below(20 if args.smoke else 30, smoke=True),
    )
    report.finish()


if __name__ == "__main__":
    main()
