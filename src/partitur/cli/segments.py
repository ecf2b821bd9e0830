"""``partitur segments``: define segments (JSON/YAML files), inspect size and members, preview,
rebuild, follow the change feed and catch membership up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.progress import Progress

from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, open_context
from partitur.core import jsonutil
from partitur.core.actions import Actor
from partitur.core.errors import BadRequest
from partitur.core.safe_yaml import load_yaml
from partitur.segments import service
from partitur.segments.contracts import PreviewRequest, SegmentDefinition, SegmentUpdate
from partitur.segments.loops import build_loops

app = typer.Typer(
    rich_markup_mode=None, help="Rule-based segments and their members.", no_args_is_help=True
)

FileArg = typer.Argument(..., help="A segment document (.json, .yaml or .yml); - for stdin")


def _read_document(path: Path) -> Any:
    text = typer.get_text_stream("stdin").read() if str(path) == "-" else path.read_text()
    try:
        if path.suffix in (".yaml", ".yml") or (str(path) == "-" and text.lstrip()[:1] not in "{["):
            return load_yaml(text)
        return jsonutil.loads(text)
    except ValueError as exc:
        raise BadRequest(f"{path}: not valid JSON or YAML: {exc}", field="file") from None


def _print_segment(segment: Any) -> None:
    console.print(f"[bold]{segment.key}[/bold]  {segment.name}  (version {segment.version})")
    if segment.description:
        console.print(segment.description)
    if hasattr(segment, "size"):
        console.print(f"members: {fmt.count(segment.size)}")
    console.print_json(jsonutil.dumps_str(segment.rule))


@app.command("list")
def list_segments(json: bool = JsonOpt) -> None:
    """List segments."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.list_segments(conn, workspace_id=ctx.workspace_id)
        sizes = {
            s.key: service.size(conn, workspace_id=ctx.workspace_id, segment_key=s.key)
            for s in rows
        }
    if json:
        emit_json([{**s.model_dump(mode="json"), "size": sizes[s.key]} for s in rows])
        return
    table = fmt.table("key", "name", "version", "members", "updated")
    for s in rows:
        table.add_row(
            s.key, s.name, str(s.version), fmt.count(sizes[s.key]), fmt.when(s.updated_at)
        )
    console.print(table)


@app.command()
def show(key: str, json: bool = JsonOpt) -> None:
    """Show one segment with its size."""
    ctx = open_context()
    with ctx.store.read() as conn:
        segment = service.get_segment(conn, workspace_id=ctx.workspace_id, key=key)
    if json:
        emit_json(segment)
    else:
        _print_segment(segment)


@app.command()
def create(file: Path = FileArg, json: bool = JsonOpt) -> None:
    """Create a segment from a document and build its membership."""
    definition = service.parse_definition(_read_document(file))
    ctx = open_context()
    with ctx.store.begin() as conn:
        segment = service.create_segment(
            conn, workspace_id=ctx.workspace_id, definition=definition, now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )  # fmt: skip
    if json:
        emit_json(segment)
    else:
        console.print(f"created {segment.key} (version 1): {fmt.count(segment.size)} members")


@app.command()
def update(file: Path = FileArg, json: bool = JsonOpt) -> None:
    """Save a new version of the segment named by the document's key and rebuild it."""
    document = _read_document(file)
    definition = service.parse_definition(document)
    change = SegmentUpdate(
        name=definition.name, description=definition.description, rule=definition.rule
    )
    ctx = open_context()
    with ctx.store.begin() as conn:
        segment = service.update_segment(
            conn, workspace_id=ctx.workspace_id, key=definition.key, update=change,
            now=ctx.clock.now(), actor=Actor.cli(ctx.workspace_id),
        )  # fmt: skip
    if json:
        emit_json(segment)
    else:
        console.print(
            f"updated {segment.key} to version {segment.version}: {fmt.count(segment.size)} members"
        )


@app.command()
def delete(key: str, json: bool = JsonOpt) -> None:
    """Delete a segment and its memberships."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        service.delete_segment(conn, workspace_id=ctx.workspace_id, key=key, now=ctx.clock.now(),
                               actor=Actor.cli(ctx.workspace_id))  # fmt: skip
    if json:
        emit_json({"deleted": key})
        return
    console.print(f"deleted {key}")


@app.command()
def members(
    key: str,
    limit: int = typer.Option(100, min=1, max=10_000, help="Page size"),
    cursor: str | None = typer.Option(None, help="next_cursor of the previous page"),
    json: bool = JsonOpt,
) -> None:
    """One page of a segment's members."""
    ctx = open_context()
    with ctx.store.read() as conn:
        page = service.members(
            conn, workspace_id=ctx.workspace_id, segment_key=key, cursor=cursor, limit=limit
        )
    if json:
        emit_json(page)
        return
    table = fmt.table("profile", "entered")
    for m in page.items:
        table.add_row(m.profile_id, fmt.when(m.entered_at))
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


@app.command()
def preview(
    file: Path = typer.Argument(..., help="A rule document, or a segment document with 'rule'"),
    sample: int = typer.Option(10, min=0, max=100),
    json: bool = JsonOpt,
) -> None:
    """Size and a sample of a rule's audience, without saving."""
    document = _read_document(file)
    if isinstance(document, dict) and "rule" in document:
        document = document["rule"]
    try:
        request = PreviewRequest.model_validate({"rule": document, "sample": sample})
    except ValidationError as exc:
        raise service.invalid_document(exc) from None
    ctx = open_context()
    with ctx.store.read() as conn:
        result = service.preview(
            conn, workspace_id=ctx.workspace_id, rule=request.rule, now=ctx.clock.now(),
            sample=sample,
        )  # fmt: skip
    if json:
        emit_json(result)
    else:
        console.print(
            f"{fmt.count(result.size)} profiles match (evaluated by {result.evaluated_by})"
        )
        for pid in result.sample:
            console.print(f"  {pid}")


@app.command()
def rebuild(key: str, json: bool = JsonOpt) -> None:
    """Recompute a segment's membership from scratch."""
    ctx = open_context()
    with fmt.working(f"building {key}", quiet=json), ctx.store.begin() as conn:
        result = service.rebuild(
            conn,
            workspace_id=ctx.workspace_id,
            key=key,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(result)
    else:
        console.print(
            f"{key}: {result.size} members (+{result.entered} -{result.exited}, "
            f"{result.evaluated_by})"
        )


@app.command()
def changes(
    after: int = typer.Option(0, help="Show changes with seq > after"),
    limit: int = typer.Option(100, min=1, max=10_000),
    json: bool = JsonOpt,
) -> None:
    """The membership change feed (entered/exited) in order."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.changes_since(conn, workspace_id=ctx.workspace_id, after=after, limit=limit)
    if json:
        emit_json(rows)
        return
    table = fmt.table("seq", "segment", "profile", "change", "at")
    for c in rows:
        table.add_row(str(c.seq), c.segment_key, c.profile_id, c.change, fmt.when(c.at))
    console.print(table)


@app.command()
def refresh(json: bool = JsonOpt) -> None:
    """Catch membership up with every resolved event, trait change and passed window now
    (what the worker's loops do continuously)."""
    ctx = open_context()
    loops = build_loops(ctx)
    done = {loop.name: 0 for loop in loops}
    with Progress(console=console, transient=True, disable=json) as progress:
        task = progress.add_task("refreshing segments", total=None)
        for loop in loops:
            while (n := loop.run_once(ctx.clock.now())) > 0:
                done[loop.name] += n
                progress.advance(task, n)
    if json:
        emit_json(done)
    else:
        for name, n in done.items():
            console.print(f"{name}: {n}")


@app.command()
def schema(json: bool = JsonOpt) -> None:
    """Print the JSON Schema of a segment document (JSON with or without --json)."""
    emit_json(SegmentDefinition.model_json_schema(by_alias=True))
