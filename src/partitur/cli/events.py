"""``partitur import events FILE`` (JSONL or CSV) and ``partitur import quarantine``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, err_console, open_context
from partitur.core.errors import BadRequest, NotFound, ValidationFailed
from partitur.core.safe_yaml import YamlRefused, load_yaml
from partitur.events import service
from partitur.workspaces.service import ensure_source

app = typer.Typer(
    rich_markup_mode=None, help="Bulk import of events; the quarantine of refused messages."
)


def _load_mapping_file(path: Path) -> dict[str, str]:
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NotFound(
            f"cannot read mapping file {path}: {exc.strerror}", field="mapping"
        ) from None
    except YamlRefused as exc:
        raise BadRequest(f"mapping file {path} is not JSON/YAML: {exc}", field="mapping") from None
    if not isinstance(document, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in document.items()
    ):
        raise ValidationFailed(
            "a mapping file holds FIELD: COLUMN pairs, e.g. {userId: customer_id}", field="mapping"
        )
    return document


@app.command("events")
def events_command(
    file: Path = typer.Argument(..., help="JSONL of Segment messages, or CSV (with --map)"),
    source: str = typer.Option("import", "--source", help="Source name (created if missing)"),
    file_format: str | None = typer.Option(
        None, "--format", help="jsonl or csv (default: from the file extension)"
    ),
    map_: list[str] = typer.Option(
        [], "--map", help="CSV mapping FIELD=COLUMN, e.g. userId=customer_id (repeatable)"
    ),
    mapping_file: Path | None = typer.Option(
        None, "--mapping", help="JSON/YAML file of FIELD: COLUMN pairs"
    ),
    type_: str | None = typer.Option(
        None, "--type", help="Message type for CSV rows (and JSONL lines without one)"
    ),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="Where bad rows go (default FILE.rejects.jsonl)"
    ),
    chunk: int = typer.Option(service.DEFAULT_CHUNK, min=1, help="Lines per transaction"),
    workers: int | None = typer.Option(
        None, min=0, help="Processes parsing JSONL in parallel (default: automatic; 0: none)"
    ),
    json: bool = JsonOpt,
) -> None:
    """Import events; bad rows go to a reject file and the quarantine, good rows go on.

    Re-running the same file stores nothing twice (messageId, or a hash of the content).
    """
    if not file.is_file():
        raise NotFound(f"no such file: {file}", field="FILE")
    mapping = _load_mapping_file(mapping_file) if mapping_file else {}
    mapping.update(service.parse_mapping_pairs(map_))
    ctx = open_context()
    try:
        with ctx.store.begin() as conn:
            src = ensure_source(
                conn, workspace_id=ctx.workspace_id, name=source, now=ctx.clock.now()
            )
        with Progress(
            TextColumn("[bold]importing[/] {task.description}"),
            BarColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            disable=json,
            transient=True,
        ) as progress:
            task = progress.add_task(file.name, total=file.stat().st_size)
            summary = service.import_events(
                ctx.store,
                workspace_id=ctx.workspace_id,
                source_id=src.id,
                source_name=src.name,
                path=file,
                received_at=ctx.clock.now(),
                fmt=file_format,
                mapping=mapping,
                default_type=type_,
                rejects_path=rejects,
                chunk_lines=chunk,
                workers=workers,
                signals=ctx.signals,
                on_progress=lambda done: progress.advance(task, done),
            )
    finally:
        ctx.close()
    if json:
        emit_json(summary)
        return
    console.print(
        f"{fmt.count(summary.lines)} lines: {fmt.count(summary.accepted)} imported, "
        f"{fmt.count(summary.duplicates)} already there, {fmt.count(summary.rejected)} rejected "
        f"in {fmt.duration(summary.seconds)} ({fmt.count(summary.events_per_second)} events/s)",
        highlight=False,
    )
    if summary.rejects_file:
        console.print(f"rejected rows: {summary.rejects_file} (also in the quarantine)")


@app.command("quarantine")
def quarantine_command(
    limit: int = typer.Option(50, min=1, max=1000, help="How many, newest first"),
    json: bool = JsonOpt,
) -> None:
    """List refused messages (API and imports) with the reason."""
    ctx = open_context()
    try:
        with ctx.store.read() as conn:
            items, _ = service.list_quarantine(
                conn, workspace_id=ctx.workspace_id, cursor=None, limit=limit
            )
    finally:
        ctx.close()
    if json:
        emit_json(items)
        return
    table = fmt.table("received", "origin", "position", "field", "reason")
    for q in items:
        table.add_row(fmt.when(q.received_at), q.origin, q.position or "", q.field or "", q.reason)
    console.print(table)


# ``partitur import profiles FILE.csv`` lives with the profiles domain.
from partitur.cli.profiles_import import import_profiles_command  # noqa: E402

app.command("profiles")(import_profiles_command)
