"""``partitur demo``: create the demo workspace of the online retailer Nordhafen."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, err_console, open_context
from partitur.core.clock import parse_iso8601
from partitur.core.errors import ValidationFailed
from partitur.demo.loader import run_demo
from partitur.demo.steps import DemoReport

_PHASES = {
    "generate": "Generating history",
    "load": "Loading events",
    "identity": "Resolving identities",
    "steps": "Demo steps",
}


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        customers: int = typer.Option(10_000, min=10, max=1_000_000, help="Number of customers"),
        days: int = typer.Option(182, min=7, max=3660, help="Days of history"),
        seed: int = typer.Option(42, min=0, help="Random seed: same seed, same data"),
        end: str | None = typer.Option(
            None, help="End of the history window (ISO 8601; default: the current hour)"
        ),
        if_empty: bool = typer.Option(
            False, "--if-empty", help="Skip loading if the workspace already has events"
        ),
        json: bool = JsonOpt,
    ) -> None:
        """Create a realistic demo workspace: customers, six months of events, profiles.

        Deterministic: the same --seed, sizes and --end give the same data. Prints the write keys
        of the demo sources, the owner's e-mail and a new password for the Studio, and an admin
        token for the API.
        """
        window_end = _parse_end(end)
        ctx = open_context()
        try:
            if json:
                report = run_demo(
                    ctx,
                    customers=customers,
                    days=days,
                    seed=seed,
                    end=window_end,
                    if_empty=if_empty,
                )
            else:
                with _progress() as (bar, tasks):

                    def show(phase: str, done: int, total: int) -> None:
                        if phase not in tasks:
                            tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=None)
                        bar.update(tasks[phase], completed=done, total=total or None)

                    report = run_demo(
                        ctx,
                        customers=customers,
                        days=days,
                        seed=seed,
                        end=window_end,
                        if_empty=if_empty,
                        progress=show,
                    )
        finally:
            ctx.close()
        if json:
            emit_json(report.as_dict())
        else:
            _print_summary(report, base_url=ctx.settings.base_url)


def _parse_end(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso8601(value)
    except ValueError as exc:
        raise ValidationFailed(f"not an ISO 8601 time: {value!r}", field="--end") from exc


class _progress:
    """A Rich progress display with one bar per phase."""

    def __enter__(self) -> tuple[Progress, dict[str, TaskID]]:
        self.bar = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            TextColumn("{task.completed:>9,.0f}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        self.bar.__enter__()
        return self.bar, {}

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)


def _print_summary(report: DemoReport, *, base_url: str) -> None:
    if report.skipped:
        console.print(
            f"[bold]Demo workspace already loaded[/] ({report.events:,} events) — data load "
            "skipped."
        )
    else:
        console.print(f"[bold green]Demo workspace '{report.workspace}' ready.[/]")
    table = fmt.table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    if not report.skipped:
        table.add_row("customers", f"{report.customers:,}")
    table.add_row("events", f"{report.events:,}")
    if report.quarantined:
        table.add_row("quarantined", f"{report.quarantined:,} (malformed on purpose)")
    table.add_row("profiles", f"{report.profiles:,}")
    facts = report.facts
    if facts:
        table.add_row(
            "story",
            f"{facts['orders']:,} orders, {facts['abandoned_carts']:,} abandoned carts, "
            f"{facts['tickets']:,} tickets, {facts['churned']:,} churned, "
            f"{facts['signups_with_anonymous_history']:,} anonymous visitors who signed up",
        )
        outage = facts.get("outage") or {}
        if outage:
            table.add_row("outage", f"{outage['region']} {outage['start']} – {outage['end']}")
    for label, value in report.extras.items():
        table.add_row(label, str(value))
    if report.timings:
        table.add_row(
            "took", ", ".join(f"{k} {v:.1f}s" for k, v in report.timings.items() if v >= 0.05)
        )
    console.print(table)
    keys = fmt.table("source", "write key", title="Sources", title_justify="left")
    for name, key in report.write_keys.items():
        keys.add_row(name, key)
    console.print(keys)
    for line in report.notes:
        console.print(f"• {line}")
    console.print(
        f"\nStudio: {base_url}/ui/ — sign in as [bold]{report.owner_email}[/] with the password"
    )
    console.print(f"  [bold]{report.owner_password}[/]  (new at each load, shown once)")
    console.print(f"Admin API token (shown once): [bold]{report.admin_token}[/]")
