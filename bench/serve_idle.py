"""What the background loops cost: a bulk import beside a running server, and an idle server.

    python bench/serve_idle.py [--smoke] [--events N] [--idle-seconds S]

1. Import N events (JSONL, ``import_events`` as ``partitur import events`` runs it) into a
   fresh SQLite database, once with nothing else running (the baseline) and once while
   ``partitur serve --with-worker`` (what ``make run`` starts) serves the same database, in
   the same run. Target: with the server at least 0.75x the rate without it.
2. Once the server's loops have caught up with those events (identity resolution, segments,
   journeys), its CPU over S seconds of idleness. Target: under 2 % of one core.

The server runs with its own settings (``synchronous=FULL``, the production loop intervals);
its CPU time is read from /proc, so other work on the machine does not count against it.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _httpload import cpu_seconds, start_serve, stderr_of, stop  # noqa: E402
from _report import Report, at_least, below  # noqa: E402
from ingest import make_messages, source_for, write_jsonl  # noqa: E402

from partitur.context import Context  # noqa: E402
from partitur.events.bulk_import import import_events  # noqa: E402
from partitur.settings import Settings  # noqa: E402


def fresh_database(directory: Path, name: str) -> tuple[Settings, str, str]:
    """A migrated database with a workspace and a source; (settings, workspace, source id)."""
    settings = Settings(database_url=f"sqlite:///{directory / name}", var_dir=directory / "var")
    ctx = Context.open(settings)
    source_id, _ = source_for(ctx)
    workspace_id = ctx.workspace_id
    ctx.close()
    return settings, workspace_id, source_id


def timed_import(settings: Settings, workspace_id: str, source_id: str, path: Path) -> float:
    """Events per second of one import (the import's own figure)."""
    ctx = Context.open(settings, migrate=False)
    try:
        summary = import_events(
            ctx.store,
            workspace_id=workspace_id,
            source_id=source_id,
            source_name="bench",
            path=path,
            received_at=datetime.now(UTC),
        )
    finally:
        ctx.close()
    return summary.events_per_second


def unresolved(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(
            conn.execute("SELECT count(*) FROM events WHERE profile_id IS NULL").fetchone()[0]
        )
    finally:
        conn.close()


def settle(pid: int, db: Path, timeout: float) -> float | None:
    """Wait until every event is resolved and the server used under 5 % of a core over two
    seconds (its loops have caught up); the seconds it took, None if it did not settle."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if unresolved(db) == 0:
            before = cpu_seconds(pid)
            time.sleep(2.0)
            if (cpu_seconds(pid) - before) / 2.0 < 0.05:
                return time.monotonic() - started
        else:
            time.sleep(1.0)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (< 1 min)")
    parser.add_argument("--events", type=int, help="events to import (default 1,000,000)")
    parser.add_argument("--idle-seconds", type=float, help="how long the idle CPU is measured")
    args = parser.parse_args()
    n = args.events or (50_000 if args.smoke else 1_000_000)
    idle_seconds = args.idle_seconds or (10.0 if args.smoke else 30.0)
    report = Report("serve_idle", smoke=args.smoke)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="partitur-bench-") as tmp:
        directory = Path(tmp)
        jsonl = directory / "events.jsonl"
        write_jsonl(jsonl, make_messages(n, seed=11, prefix="idle"))

        alone = timed_import(*fresh_database(directory, "alone.db"), jsonl)
        print(f"import of {n:,} events, nothing else running: {alone:,.0f} events/s")

        settings, workspace_id, source_id = fresh_database(directory, "served.db")
        db = directory / "served.db"
        env = {
            "PARTITUR_DATABASE_URL": settings.database_url,
            "PARTITUR_VAR_DIR": str(directory / "var"),
            "PARTITUR_WORKER_STOP_SECONDS": "30",
        }
        server, _port = start_serve(env, extra_args=["--with-worker"])
        try:
            time.sleep(2.0)  # the loops have started and made their first (empty) passes
            served = timed_import(settings, workspace_id, source_id, jsonl)
            report.figure(
                f"import {n:,} events beside serve --with-worker",
                served,
                "events/s",
                baseline=alone,
                baseline_name="the same import, no server",
                target=at_least(0.75, on="ratio"),
            )
            timeout = 120 if args.smoke else 600
            caught_up = settle(server.pid, db, timeout=timeout)
            note = ""
            if caught_up is None:
                note = f"the loops were still busy {timeout} s after the import"
                print(note)
            else:
                print(f"the server's loops caught up with the import {caught_up:.0f} s later")
            before = cpu_seconds(server.pid)
            time.sleep(idle_seconds)
            used = (cpu_seconds(server.pid) - before) / idle_seconds
            report.figure(
                f"idle serve --with-worker ({n:,} events stored), CPU over {idle_seconds:g} s",
                100 * used,
                "% of a core",
                target=below(2.0, smoke=True),
                note=note,
            )
        finally:
            if stop(server, "partitur serve", timeout=60) != 0:
                print(f"WARNING: partitur serve exited with {server.returncode}:")
                print(stderr_of(server))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    report.finish()


if __name__ == "__main__":
    main()
