"""``partitur journeys``: documents, lifecycle, enrolment, inspection and simulation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
import yaml

from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, open_context
from partitur.core import jsonutil
from partitur.core.actions import Actor
from partitur.core.clock import parse_iso8601
from partitur.core.errors import BadRequest, InvalidDocument, ValidationFailed
from partitur.core.safe_yaml import load_yaml
from partitur.journeys import service
from partitur.journeys.loops import run_audience

app = typer.Typer(
    rich_markup_mode=None,
    help="Journeys: define, publish, run, inspect and simulate.",
    no_args_is_help=True,
)


def read_document(path: Path) -> dict[str, Any]:
    """A journey document from a .json, .yaml or .yml file."""
    text = path.read_text(encoding="utf-8")
    try:
        document = jsonutil.loads(text) if path.suffix.lower() == ".json" else load_yaml(text)
    except ValueError as exc:
        raise BadRequest(f"{path}: not valid JSON/YAML: {exc}", field=str(path)) from exc
    if not isinstance(document, dict):
        raise BadRequest(f"{path}: a journey document is an object", field=str(path))
    return document


def print_problems(exc: InvalidDocument) -> None:
    for p in exc.problems:
        where = p.get("node") or p.get("path") or "journey"
        console.print(f"  [bold]{where}[/bold]: {p['message']}", highlight=False)


@app.command("schema")
def schema(json: bool = JsonOpt) -> None:
    """Print the JSON Schema of journey documents (JSON with or without --json)."""
    emit_json(service.json_schema())


@app.command("validate")
def validate(
    path: Path = typer.Argument(..., exists=True, dir_okay=False), json: bool = JsonOpt
) -> None:
    """Validate a journey document; exits 2 listing every problem with its node id."""
    document = read_document(path)
    ctx = open_context()
    try:
        with ctx.store.read() as conn:
            service.validate(conn, workspace_id=ctx.workspace_id, document=document)
    except InvalidDocument as exc:
        if json:
            emit_json({"valid": False, "problems": exc.problems})
        else:
            console.print(f"[red]invalid[/red]: {exc.detail}")
            print_problems(exc)
        raise typer.Exit(2) from exc
    if json:
        emit_json({"valid": True, "problems": []})
    else:
        console.print(f"[green]valid[/green]: {path}")


@app.command("save")
def save(
    path: Path = typer.Argument(..., exists=True, dir_okay=False),
    publish: bool = typer.Option(False, "--publish", help="Publish the draft right away."),
    json: bool = JsonOpt,
) -> None:
    """Create a journey or replace its draft from a JSON/YAML file (optionally publish it)."""
    document = read_document(path)
    ctx = open_context()
    with ctx.store.begin() as conn:
        summary = service.save_draft(
            conn,
            workspace_id=ctx.workspace_id,
            document=document,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
        if publish:
            service.publish(
                conn,
                workspace_id=ctx.workspace_id,
                key=summary.key,
                now=ctx.clock.now(),
                actor=Actor.cli(ctx.workspace_id),
            )
            summary = service.get_journey(conn, workspace_id=ctx.workspace_id, key=summary.key)
    if json:
        emit_json(summary)
    else:
        console.print(f"{summary.key}: {summary.status} (version {summary.latest_version or '-'})")


@app.command("load")
def load(
    directory: Path = typer.Argument(
        Path("examples/journeys"), exists=True, file_okay=False, help="A folder of documents."
    ),
    publish: bool = typer.Option(True, "--publish/--draft", help="Publish what was loaded."),
    json: bool = JsonOpt,
) -> None:
    """Save (and publish) every journey document in a folder (the demo loads the examples)."""
    documents = [
        read_document(p)
        for p in sorted(directory.iterdir())
        if p.suffix in (".json", ".yaml", ".yml")
    ]
    ctx = open_context()
    with ctx.store.begin() as conn:
        rows = service.load_documents(
            conn,
            workspace_id=ctx.workspace_id,
            documents=documents,
            now=ctx.clock.now(),
            publish_them=publish,
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(rows)
    else:
        for j in rows:
            console.print(f"{j.key}: {j.status} (version {j.latest_version or '-'})")


@app.command("list")
def list_(json: bool = JsonOpt) -> None:
    """List journeys."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.list_journeys(conn, workspace_id=ctx.workspace_id)
    if json:
        emit_json(rows)
        return
    table = fmt.table("key", "name", "status", "version", "test mode", "updated")
    for j in rows:
        table.add_row(
            j.key,
            j.name,
            j.status,
            str(j.latest_version or "-"),
            "yes" if j.test_mode else "",
            fmt.when(j.updated_at),
        )
    console.print(table)


@app.command("show")
def show(key: str, json: bool = JsonOpt) -> None:
    """Show a journey's draft and published version."""
    ctx = open_context()
    with ctx.store.read() as conn:
        detail = service.get_journey(conn, workspace_id=ctx.workspace_id, key=key)
    if json:
        emit_json(detail)
    else:
        console.print(yaml.safe_dump(detail.model_dump(mode="json"), sort_keys=False))


@app.command("publish")
def publish(key: str, json: bool = JsonOpt) -> None:
    """Validate the draft and publish it as the next immutable version."""
    ctx = open_context()
    try:
        with ctx.store.begin() as conn:
            version = service.publish(
                conn,
                workspace_id=ctx.workspace_id,
                key=key,
                now=ctx.clock.now(),
                actor=Actor.cli(ctx.workspace_id),
            )
    except InvalidDocument as exc:
        if json:
            emit_json({"published": False, "problems": exc.problems})
        else:
            console.print(f"[red]not published[/red]: {exc.detail}")
            print_problems(exc)
        raise typer.Exit(2) from exc
    if json:
        emit_json(version)
    else:
        console.print(f"{key}: published version {version.version}")


def _status(key: str, action: str, json: bool) -> None:
    ctx = open_context()
    with ctx.store.begin() as conn:
        summary = service.STATUS_ACTIONS[action](
            conn,
            workspace_id=ctx.workspace_id,
            key=key,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(summary)
    else:
        console.print(f"{key}: {summary.status}")


@app.command("pause")
def pause(key: str, json: bool = JsonOpt) -> None:
    """Pause: no entries; waiting instances hold until resumed."""
    _status(key, "pause", json)


@app.command("resume")
def resume(key: str, json: bool = JsonOpt) -> None:
    """Resume a paused journey."""
    _status(key, "resume", json)


@app.command("stop")
def stop(key: str, json: bool = JsonOpt) -> None:
    """Stop for good: every active instance exits."""
    _status(key, "stop", json)


@app.command("test-mode")
def test_mode(
    key: str,
    enabled: bool = typer.Option(True, "--on/--off", help="Enrol only test profiles."),
    json: bool = JsonOpt,
) -> None:
    """Switch test mode (only profiles marked is_test enter)."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        summary = service.set_test_mode(
            conn,
            workspace_id=ctx.workspace_id,
            key=key,
            enabled=enabled,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(summary)
    else:
        console.print(f"{key}: test mode {'on' if summary.test_mode else 'off'}")


@app.command("enrol")
def enrol(key: str, profile_ids: list[str], json: bool = JsonOpt) -> None:
    """Enrol profiles now."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        result = service.enrol(
            conn,
            workspace_id=ctx.workspace_id,
            key=key,
            profile_ids=profile_ids,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(result)
    else:
        console.print(f"enrolled {result.enrolled}, skipped {result.skipped} {result.reasons}")


@app.command("run-audience")
def audience(key: str, json: bool = JsonOpt) -> None:
    """Enrol the members of an audience journey's segment now."""
    ctx = open_context()
    with fmt.working(f"enrolling the audience of {key}", quiet=json):
        entered = run_audience(ctx, key=key, now=ctx.clock.now())
    if json:
        emit_json({"enrolled": entered})
    else:
        console.print(f"enrolled {entered}")


@app.command("instances")
def instances(
    key: str,
    status: str | None = typer.Option(None, help="active, completed, exited or converted"),
    limit: int = typer.Option(100, min=1, max=1000),
    json: bool = JsonOpt,
) -> None:
    """List a journey's instances."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.list_instances(
            conn, workspace_id=ctx.workspace_id, key=key, status=status, limit=limit
        )
    if json:
        emit_json(rows)
        return
    table = fmt.table("instance", "profile", "version", "status", "node", "entered", "reason")
    for i in rows:
        table.add_row(
            i.id,
            i.profile_id,
            str(i.version),
            i.status,
            i.current_node or "",
            fmt.when(i.entered_at),
            i.end_reason or "",
        )
    console.print(table)


@app.command("history")
def history(profile_id: str, json: bool = JsonOpt) -> None:
    """A profile's journeys and every transition (node, time, reason)."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.profile_journeys(conn, workspace_id=ctx.workspace_id, profile_id=profile_id)
    if json:
        emit_json(rows)
        return
    for i in rows:
        console.print(f"[bold]{i.journey_key}[/bold] v{i.version} {i.status} ({i.id})")
        for t in i.history or []:
            console.print(
                f"  {fmt.when(t.at)}  {t.node_id or 'end':<20} {t.reason}", highlight=False
            )


@app.command("nodes")
def nodes(key: str, json: bool = JsonOpt) -> None:
    """Per-node counts: entered, and waiting there now."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.node_counts(conn, workspace_id=ctx.workspace_id, key=key)
    if json:
        emit_json(rows)
        return
    table = fmt.table("node", "entered", "here now")
    for n in rows:
        table.add_row(n.node_id, str(n.entered), str(n.active_here))
    console.print(table)


def read_events(path: Path) -> list[service.SimEvent]:
    """JSONL: one event per line with profile_id (or userId), event, timestamp, properties."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = jsonutil.loads(line)
            out.append(
                service.SimEvent(
                    str(doc.get("profile_id") or doc.get("userId") or doc["user_id"]),
                    str(doc["event"]),
                    parse_iso8601(str(doc["timestamp"])),
                    doc.get("properties") or {},
                )
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise BadRequest(f"{path}:{number}: {exc}", field=f"line {number}") from exc
    return out


@app.command("backfill")
def backfill_cmd(
    keys: list[str] = typer.Argument(..., help="Published journeys (keys) to backfill."),
    since: str | None = typer.Option(
        None, "--since", help="Replay from this time (ISO 8601); default: --days ago."
    ),
    days: int = typer.Option(14, "--days", min=1, help="Replay the last N days (without --since)."),
    deliver: bool = typer.Option(
        False, "--deliver", help="Deliver the sends the replay makes (default: withdraw them)."
    ),
    json: bool = JsonOpt,
) -> None:
    """Run just-published journeys over the stored history since --since as if they had been
    live: instances enter, wait, branch, convert and end at the times they would have. The sends
    they would have made are recorded and withdrawn (not delivered) unless --deliver is given.
    Each journey is backfilled once."""
    ctx = open_context()
    now = ctx.clock.now()
    if since is None:
        start = now - timedelta(days=days)
    else:
        try:
            start = parse_iso8601(since)
        except ValueError as exc:
            raise ValidationFailed(f"not an ISO 8601 time: {since!r}", field="--since") from exc
    with fmt.working("replaying the history into " + ", ".join(keys), quiet=json):
        result = service.backfill(
            ctx, keys=keys, since=start, actor=Actor.cli(ctx.workspace_id), deliver=deliver
        )
    if json:
        emit_json(result.model_dump(mode="json"))
        return
    console.print(
        f"replayed {fmt.count(result.events)} events and "
        f"{fmt.count(result.segment_changes)} segment changes "
        f"({fmt.when(result.since)} .. {fmt.when(result.until)}) in "
        f"{fmt.duration(result.seconds)}; "
        + (
            "sends queued for delivery"
            if deliver
            else f"{fmt.count(result.withdrawn_sends)} sends recorded, not delivered"
        )
    )
    table = fmt.table("journey", "active", "converted", "completed", "exited")
    for key, counts in result.instances.items():
        table.add_row(
            key,
            *(fmt.count(counts.get(s, 0)) for s in ("active", "converted", "completed", "exited")),
        )
    console.print(table)


@app.command("simulate")
def simulate_cmd(
    journey: str = typer.Argument(..., help="A journey key, or a JSON/YAML document file."),
    days: int = typer.Option(30, "--days", min=1, help="Replay the stored history of N days."),
    events: Path | None = typer.Option(
        None, "--events", exists=True, dir_okay=False, help="JSONL event file."
    ),
    samples: int = typer.Option(5, "--samples", min=0),
    json: bool = JsonOpt,
) -> None:
    """Run a journey over past events on a virtual clock (nothing is sent) and print per-node
    counts, outcomes and the paths of sample profiles."""
    ctx = open_context()
    now = ctx.clock.now()
    given = read_events(events) if events is not None else None
    path = Path(journey)
    with ctx.store.read() as conn:
        definition = (
            service.parse_definition(read_document(path))
            if path.suffix.lower() in (".json", ".yaml", ".yml") and path.exists()
            else service.load_definition(conn, workspace_id=ctx.workspace_id, key=journey)
        )
        if given:
            start = min(e.timestamp for e in given)
            end = max(e.timestamp for e in given) + timedelta(days=days)
        else:
            start, end = now - timedelta(days=days), now
        profiles, replay = service.simulation_input(
            conn,
            workspace_id=ctx.workspace_id,
            definition=definition,
            since=start,
            until=end,
            events=given,
        )
    with fmt.working(f"simulating {definition.key}", quiet=json):
        report = service.simulate(
            definition, profiles, replay, start=start, end=end, samples=samples
        )
    if json:
        emit_json(report.to_json())
        return
    console.print(
        f"[bold]{report.journey}[/bold]: {report.profiles} profiles, {report.entered} entered "
        f"({fmt.when(start)} .. {fmt.when(end)}), nothing sent"
    )
    table = fmt.table("node", "entered")
    for node in definition.nodes:
        table.add_row(node.id, str(report.node_counts.get(node.id, 0)))
    console.print(table)
    console.print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())))
    console.print(
        "would send: "
        + (", ".join(f"{k} {v}" for k, v in sorted(report.sends.items())) or "nothing")
    )
    for pid, steps in report.samples.items():
        console.print(f"[bold]{pid}[/bold]: " + " -> ".join(s["node"] or "end" for s in steps))
