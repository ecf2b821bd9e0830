"""Run every benchmark, print one summary table and record the run (``make bench``).

    python bench/_run.py [--smoke] [--only NAME,...] [--no-record]

Each ``bench/*.py`` (not starting with ``_``) runs in its own process, one after the other, with
its output shown as it comes. A bench that misses a target or fails does not stop the others:
the summary at the end names it and the exit code is 1. At full size the run is appended to
``bench/RESULTS.md`` as a dated section (date, commit, load average, machine, every figure with
its baseline and ratio); smoke runs (``make bench-smoke``, CI) record nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import MISSED_EXIT, RESULTS_ENV, Figure, number, verdict

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "RESULTS.md"
#: the longest one bench may take before it is stopped and counted as failed
TIMEOUT = {"smoke": 15 * 60, "full": 2 * 60 * 60}


@dataclass
class Outcome:
    bench: str
    exit_code: int
    seconds: float
    figures: list[Figure] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Ended badly for another reason than a missed target (a crash, a timeout)."""
        return self.exit_code not in (0, MISSED_EXIT)


def benches(only: set[str] | None) -> list[Path]:
    found = sorted(p for p in BENCH.glob("*.py") if not p.name.startswith("_"))
    if only:
        unknown = only - {p.stem for p in found}
        if unknown:
            raise SystemExit(f"no such bench: {', '.join(sorted(unknown))}")
        found = [p for p in found if p.stem in only]
    return found


def run(path: Path, smoke: bool) -> Outcome:
    with tempfile.NamedTemporaryFile(prefix="partitur-bench-", suffix=".jsonl") as results:
        env = {**os.environ, RESULTS_ENV: results.name, "PYTHONWARNINGS": "ignore"}
        command = [sys.executable, str(path), *(["--smoke"] if smoke else [])]
        print(f"\n=== {path.stem} ({' '.join(command[1:])}) ===", flush=True)
        started = time.monotonic()
        try:
            code = subprocess.run(
                command, cwd=ROOT, env=env, timeout=TIMEOUT["smoke" if smoke else "full"]
            ).returncode
        except subprocess.TimeoutExpired:
            print(f"{path.stem}: stopped after {TIMEOUT['smoke' if smoke else 'full']} s")
            code = 124
        seconds = time.monotonic() - started
        figures = [
            Figure(**json.loads(line)) for line in Path(results.name).read_text().splitlines()
        ]
    return Outcome(path.stem, code, seconds, figures)


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{head} (with uncommitted changes)" if dirty else head


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = ""
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}){memory}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def cell_ratio(fig: Figure) -> str:
    return "" if fig.ratio is None else f"{fig.ratio:.2f}"


def cell_baseline(fig: Figure) -> str:
    if fig.baseline is None:
        return ""
    return (
        f"{number(fig.baseline)} ({fig.baseline_name})"
        if fig.baseline_name
        else number(fig.baseline)
    )


def summary(outcomes: list[Outcome], console: Console) -> None:
    table = Table(title="benchmark summary", show_lines=False, expand=False)
    for column, justify in (
        ("bench", "left"),
        ("figure", "left"),
        ("value", "right"),
        ("baseline (same run)", "left"),
        ("ratio", "right"),
        ("target", "left"),
        ("result", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for outcome in outcomes:
        for fig in outcome.figures:
            result = verdict(fig)
            style = "red" if fig.met is False else ("green" if fig.met else "")
            table.add_row(
                outcome.bench,
                fig.name,
                f"{number(fig.value)} {fig.unit}",
                cell_baseline(fig),
                cell_ratio(fig),
                fig.target,
                f"[{style}]{result}[/]" if style else result,
            )
        if outcome.failed:
            table.add_row(
                outcome.bench, "", "", "", "", "", f"[red]FAILED (exit {outcome.exit_code})[/]"
            )
    console.print(table)


def markdown(
    outcomes: list[Outcome], *, started: datetime, load: tuple[float, float], revision: str
) -> str:
    minutes = sum(o.seconds for o in outcomes) / 60
    ended = commit()
    if ended != revision:  # the benches run the code as it is when each starts
        revision = f"{revision} (at the start; {ended} at the end)"
    lines = [
        f"## {started:%Y-%m-%d %H:%M} UTC · `make bench` · commit {revision}",
        "",
        f"Machine: {machine()}. Load average (1 min): {load[0]:.2f} at the start, "
        f"{load[1]:.2f} at the end. The run took {minutes:.0f} min.",
        "",
        "| bench | figure | value | baseline (same run) | ratio | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        for fig in outcome.figures:
            lines.append(
                f"| {outcome.bench} | {fig.name} | {number(fig.value)} {fig.unit} | "
                f"{cell_baseline(fig)} | {cell_ratio(fig)} | {fig.target} | {verdict(fig)} |"
            )
        if outcome.failed:
            lines.append(f"| {outcome.bench} | | | | | | FAILED (exit {outcome.exit_code}) |")
    return "\n".join(lines) + "\n"


def record(section: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    RESULTS.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (CI)")
    parser.add_argument("--only", help="comma-separated bench names, e.g. ingest,serve_idle")
    parser.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args()
    only = {n.strip() for n in args.only.split(",") if n.strip()} if args.only else None
    started = datetime.now(UTC)
    revision = commit()
    load_before = os.getloadavg()[0]
    outcomes = [run(path, args.smoke) for path in benches(only)]
    load_after = os.getloadavg()[0]
    # a log (CI, a file) is not cut at 80 columns: the table gets the width it needs
    console = Console() if sys.stdout.isatty() else Console(width=200)
    print()
    summary(outcomes, console)
    console.print(
        f"load average (1 min): {load_before:.2f} at the start, {load_after:.2f} at the end; "
        f"{os.cpu_count()} cores"
    )
    if not args.smoke and not args.no_record:
        record(
            markdown(outcomes, started=started, load=(load_before, load_after), revision=revision)
        )
        console.print(f"recorded in {RESULTS.relative_to(ROOT)}")
    missed = [f"{f.bench}: {f.name}" for o in outcomes for f in o.figures if f.met is False]
    failed = [f"{o.bench} (exit {o.exit_code})" for o in outcomes if o.failed]
    if missed:
        console.print("[red]targets missed:[/] " + "; ".join(missed))
    if failed:
        console.print("[red]benches failed:[/] " + "; ".join(failed))
    sys.exit(1 if missed or failed else 0)


if __name__ == "__main__":
    main()
