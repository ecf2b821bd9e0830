"""How long the demo workspace takes to build: generation, loading, identity resolution.

    python bench/demo.py            # the full demo: 10,000 customers, 182 days
    python bench/demo.py --smoke    # 500 customers, 30 days (CI)

The baseline is the raw rate of inserting the same messages, as JSON text, into a bare SQLite
table in one transaction at the server's ``synchronous=FULL`` (what the storage allows with no
validation, dedupe or indexes).
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

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report

from partitur.context import Context
from partitur.demo.generator import DemoConfig, generate
from partitur.demo.loader import run_demo
from partitur.settings import Settings

END = datetime(2026, 1, 5, tzinfo=UTC)


def raw_insert_rate(messages: list[dict[str, object]], path: Path) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, body TEXT)")
    began = time.perf_counter()
    with conn:
        conn.executemany(
            "INSERT INTO raw (body) VALUES (?)", ((orjson.dumps(m),) for m in messages)
        )
    rate = len(messages) / (time.perf_counter() - began)
    conn.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="small sizes, < 20 s")
    parser.add_argument("--customers", type=int)
    parser.add_argument("--days", type=int)
    args = parser.parse_args()
    customers = args.customers or (500 if args.smoke else 10_000)
    days = args.days or (30 if args.smoke else 182)

    began = time.perf_counter()
    dataset = generate(DemoConfig(customers=customers, days=days, seed=42, end=END))
    generate_s = time.perf_counter() - began
    n = len(dataset.messages)
    with tempfile.TemporaryDirectory() as tmp:
        baseline = raw_insert_rate(dataset.messages, Path(tmp) / "raw.db")
        del dataset
        settings = Settings(database_url=f"sqlite:///{tmp}/demo.db", var_dir=Path(tmp) / "var")
        ctx = Context.open(settings)
        began = time.perf_counter()
        report = run_demo(ctx, customers=customers, days=days, seed=42, end=END)
        total_s = time.perf_counter() - began
        ctx.close()
    load_rate = n / report.timings["load"]
    figures = Report("demo", smoke=args.smoke)
    print(
        f"demo: {customers:,} customers, {days} days -> {n:,} messages, "
        f"{report.profiles:,} profiles; load average {os.getloadavg()[0]:.2f}"
    )
    figures.figure(
        f"demo generation ({n:,} messages)",
        n / generate_s,
        "messages/s",
        note=f"{generate_s:.1f} s",
    )
    figures.figure(
        "demo load (ingestion into SQLite)",
        load_rate,
        "events/s",
        baseline=baseline,
        baseline_name="raw insert of the messages as JSON",
        note=f"{report.timings['load']:.1f} s",
    )
    figures.figure("demo identity resolution", report.timings["identity"], "s")
    figures.figure(
        f"demo total, {customers:,} customers and {days} days (make run waits this once)",
        total_s,
        "s",
    )
    figures.finish()


if __name__ == "__main__":
    main()
