"""``partitur maps``: the journey map repository from the command line."""

from __future__ import annotations

import json as jsonlib
import sys
from datetime import datetime, timedelta
from pathlib import Path

import typer

from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, open_context, read_yaml_file
from partitur.core.actions import Actor
from partitur.core.clock import parse_iso8601
from partitur.core.errors import BadRequest
from partitur.journey_maps import service
from partitur.journey_maps.contracts import JourneyMapDocument, Taxonomy

app = typer.Typer(
    rich_markup_mode=None,
    help="Journey maps: stages, touchpoints, pain points, measured KPIs.",
    no_args_is_help=True,
)

SinceOpt = typer.Option(None, help="Start of the period (ISO 8601); default 90 days before --until")
UntilOpt = typer.Option(None, help="End of the period (ISO 8601); default now")


def _period(now: datetime, since: str | None, until: str | None) -> tuple[datetime, datetime]:
    try:
        end = parse_iso8601(until) if until else now
        start = parse_iso8601(since) if since else end - timedelta(days=90)
    except ValueError as exc:
        raise BadRequest(f"not an ISO 8601 time: {exc}", field="since/until") from None
    return start, end


def _pct(value: float | None) -> str:
    return "–" if value is None else fmt.percent(value)


@app.command("list")
def list_maps(
    status: str | None = typer.Option(None, help="draft, in_review, published or archived"),
    state: str | None = typer.Option(None, help="as_is or to_be"),
    json: bool = JsonOpt,
) -> None:
    """List journey maps."""
    ctx = open_context()
    with ctx.store.read() as conn:
        maps = service.list_maps(conn, workspace_id=ctx.workspace_id, status=status, state=state)
    if json:
        emit_json(maps)
        return
    table = fmt.table("key", "name", "state", "status", "version", "stages", "updated")
    for m in maps:
        d = m.document
        table.add_row(
            d.key,
            d.name,
            d.state.value,
            d.status.value,
            str(m.version),
            str(len(d.stages)),
            fmt.when(m.updated_at),
        )
    console.print(table)


@app.command("import")
def import_map(
    file: Path = typer.Argument(..., help="A map as .json, .yaml or element .csv"),
    note: str = typer.Option("import", help="A note for the version history"),
    json: bool = JsonOpt,
) -> None:
    """Create a map or add a new version of it from a file."""
    if not file.is_file():
        raise BadRequest(f"{file}: no such file", field="file")
    document = service.load_file(file)
    ctx = open_context()
    with ctx.store.begin() as conn:
        saved = service.save_map(
            conn,
            workspace_id=ctx.workspace_id,
            document=document,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
            note=note,
        )
    if json:
        emit_json(saved)
    else:
        console.print(f"{saved.document.key}: version {saved.version}")


@app.command("export")
def export_map(
    key: str,
    format: str = typer.Option(
        "json", "--format", "-f", help="json, yaml, csv, svg, png, md or html"
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)"),
    measured: bool = typer.Option(
        True, "--measured/--no-measured", help="Include measured data in pictures and reports"
    ),
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    version: int | None = typer.Option(None, help="An earlier version"),
    json: bool = JsonOpt,
) -> None:
    """Export a map as a document, CSV of elements, picture or report. Without --output the
    export itself goes to stdout; with it, --json reports the file written as JSON."""
    ctx = open_context()
    start, end = _period(ctx.clock.now(), since, until)
    content = service.export_map(
        ctx.store,
        workspace_id=ctx.workspace_id,
        key=key,
        fmt=format,
        version=version,
        since=start if measured else None,
        until=end if measured else None,
    )
    if output is None:
        if format == "png":
            raise BadRequest("PNG goes to a file: pass --output", field="output")
        sys.stdout.write(content.decode())
        return
    output.write_bytes(content)
    if json:
        emit_json({"file": str(output), "format": format, "bytes": len(content)})
    else:
        console.print(f"wrote {output} ({fmt.count(len(content))} bytes)")


@app.command("show")
def show(key: str, json: bool = JsonOpt) -> None:
    """Show a map's stages and elements."""
    ctx = open_context()
    with ctx.store.read() as conn:
        found = service.get_map(conn, workspace_id=ctx.workspace_id, key=key)
    if json:
        emit_json(found)
        return
    d = found.document
    console.print(
        f"[bold]{d.name}[/] ({d.key}, v{found.version}, {d.state.value}, {d.status.value})"
    )
    table = fmt.table("stage", "touchpoints", "needs", "pain points", "opportunities", "emotion")
    for s in d.stages:
        table.add_row(
            s.key,
            str(len(s.touchpoints)),
            str(len(s.needs)),
            str(len(s.pain_points)),
            str(len(s.opportunities)),
            "" if s.emotion is None else f"{s.emotion:+.1f}",
        )
    console.print(table)


@app.command("history")
def history(key: str, json: bool = JsonOpt) -> None:
    """The versions of a map."""
    ctx = open_context()
    with ctx.store.read() as conn:
        versions = service.history(conn, workspace_id=ctx.workspace_id, key=key)
    if json:
        emit_json(versions)
        return
    table = fmt.table("version", "changed", "by", "note")
    for v in versions:
        table.add_row(str(v.version), fmt.when(v.changed_at), v.changed_by, v.note)
    console.print(table)


@app.command("comment")
def comment(
    key: str,
    body: str,
    element: str | None = typer.Option(None, help="Element id"),
    author: str = typer.Option("cli"),
    json: bool = JsonOpt,
) -> None:
    """Comment on a map or one of its elements."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        made = service.add_comment(
            conn,
            workspace_id=ctx.workspace_id,
            key=key,
            body=body,
            element_id=element,
            author=author,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(made)
    else:
        console.print(f"commented {made.id}")


@app.command("measure")
def measure(
    key: str, since: str | None = SinceOpt, until: str | None = UntilOpt, json: bool = JsonOpt
) -> None:
    """Measured KPIs per stage: customers, conversion, drop-off, satisfaction, emotion."""
    ctx = open_context()
    start, end = _period(ctx.clock.now(), since, until)
    result = service.measure(
        ctx.store, workspace_id=ctx.workspace_id, key=key, since=start, until=end
    )
    if json:
        emit_json(result)
        return
    table = fmt.table(
        "stage",
        "customers",
        "→ next",
        "drop-off",
        "satisfaction",
        "sentiment",
        "designed",
        "measured",
    )
    for s in result.stages:
        if not s.measured:
            table.add_row(s.name, "not measured", "–", "–", "–", "–", "–", "–")
            continue
        table.add_row(
            s.name,
            f"{s.customers:,}",
            _pct(s.conversion_to_next),
            _pct(s.drop_off),
            "–" if s.satisfaction is None else f"{s.satisfaction:.0f}",
            "–" if s.sentiment is None else f"{s.sentiment:+.2f}",
            "–" if s.designed_emotion is None else f"{s.designed_emotion:+.1f}",
            "–" if s.measured_emotion is None else f"{s.measured_emotion:+.1f}",
        )
    console.print(table)
    for s in result.stages:
        if s.note and s.measured:
            console.print(f"{s.name}: {s.note}")


@app.command("insights")
def insights(
    key: str,
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    matrix: Path | None = typer.Option(None, help="Also write the matrix (.svg or .png)"),
    json: bool = JsonOpt,
) -> None:
    """Pain points and opportunities ranked by measured impact against effort."""
    ctx = open_context()
    start, end = _period(ctx.clock.now(), since, until)
    ranked = service.ranked_insights(
        ctx.store, workspace_id=ctx.workspace_id, key=key, since=start, until=end
    )
    if matrix is not None:
        kind = matrix.suffix.lower().lstrip(".")
        if kind not in ("svg", "png"):
            raise BadRequest("--matrix must end in .svg or .png", field="matrix")
        matrix.write_bytes(
            service.render_matrix(ranked, title=f"{key}: impact vs effort", fmt=kind)  # type: ignore[arg-type]
        )
    if json:
        emit_json(ranked)
        return
    table = fmt.table(
        "#", "insight", "stage", "affected", "drop-off", "impact", "effort", "quadrant"
    )
    for n, i in enumerate(ranked, start=1):
        table.add_row(
            str(n),
            i.title,
            i.stage,
            f"{i.affected_customers:,}",
            _pct(i.drop_off),
            f"{i.impact:,.0f}",
            str(i.effort),
            i.quadrant.replace("_", " "),
        )
    console.print(table)


@app.command("schema")
def schema(json: bool = JsonOpt) -> None:
    """Print the JSON Schema of the map document (JSON with or without --json)."""
    sys.stdout.write(jsonlib.dumps(JourneyMapDocument.model_json_schema(), indent=2) + "\n")


@app.command("taxonomy")
def taxonomy(
    file: Path | None = typer.Option(None, help="Set the stages from a JSON/YAML file"),
    json: bool = JsonOpt,
) -> None:
    """Show (or set) the workspace's stage taxonomy."""
    ctx = open_context()
    if file is not None:
        if not file.is_file():
            raise BadRequest(f"{file}: no such file", field="file")
        new = Taxonomy.model_validate(read_yaml_file(file))
        with ctx.store.begin() as conn:
            service.set_taxonomy(
                conn,
                workspace_id=ctx.workspace_id,
                taxonomy=new,
                now=ctx.clock.now(),
                actor=Actor.cli(ctx.workspace_id),
            )
    with ctx.store.read() as conn:
        current = service.get_taxonomy(conn, workspace_id=ctx.workspace_id)
    if json:
        emit_json(current)
        return
    table = fmt.table("#", "key", "name", "description")
    for n, s in enumerate(current.stages, start=1):
        table.add_row(str(n), s.key, s.name, s.description)
    console.print(table)
