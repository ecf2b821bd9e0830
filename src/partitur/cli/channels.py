"""``partitur channels``: send, dispatch, providers, templates, suppressions, agent tasks."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress

from partitur.channels import service
from partitur.channels.contracts import ProviderIn, SendRequest, TemplateIn
from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, open_context, read_yaml_file
from partitur.core.actions import Actor
from partitur.core.errors import BadRequest, ValidationFailed
from partitur.core.ids import new_id

app = typer.Typer(
    rich_markup_mode=None,
    help="Channels and delivery: send, dispatch, providers, templates, consent.",
    no_args_is_help=True,
)
providers_app = typer.Typer(
    rich_markup_mode=None, help="Provider settings per workspace.", no_args_is_help=True
)
templates_app = typer.Typer(
    rich_markup_mode=None, help="Message templates, layouts and snippets.", no_args_is_help=True
)
app.add_typer(providers_app, name="providers")
app.add_typer(templates_app, name="templates")


def _json_arg(text: str | None, field: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = jsonlib.loads(text)
    except jsonlib.JSONDecodeError as exc:
        raise BadRequest(f"not valid JSON (at character {exc.pos})", field=field) from exc
    if not isinstance(value, dict):
        raise ValidationFailed("must be a JSON object", field=field)
    return value


@app.command("plugins")
def plugins(json: bool = JsonOpt) -> None:
    """List the installed channel plugins (entry points ``partitur.channels``)."""
    found = service.channel_kinds()
    if json:
        emit_json(found)
        return
    table = fmt.table("kind", "channel")
    for kind, channel in found.items():
        table.add_row(kind, channel)
    console.print(table)


@app.command("send")
def send(
    profile_id: str = typer.Argument(..., help="Profile to send to"),
    channel: str = typer.Option("email", help="email, sms, push, in_app, webhook, agent_task"),
    template: str | None = typer.Option(None, help="Template key"),
    data: str | None = typer.Option(None, help="Template variables as JSON"),
    payload: str | None = typer.Option(None, help="Payload as JSON (text, subject, endpoint...)"),
    key: str | None = typer.Option(None, help="Idempotency key (default: a new one)"),
    transactional: bool = typer.Option(
        False, "--transactional", help="Transactional (exempt from consent/caps)"
    ),
    json: bool = JsonOpt,
) -> None:
    """Queue one message in the outbox."""
    ctx = open_context()
    request = SendRequest.model_validate(
        {
            "idempotency_key": key or new_id("cli"),
            "workspace_id": ctx.workspace_id,
            "profile_id": profile_id,
            "channel": channel,
            "template": template,
            "data": _json_arg(data, "data"),
            "payload": _json_arg(payload, "payload"),
            "category": "transactional" if transactional else "marketing",
        }
    )
    with ctx.store.begin() as conn:
        queued = service.enqueue(conn, request=request, now=ctx.clock.now())
    if json:
        emit_json(queued)
    else:
        console.print(f"{queued.id} {queued.status}{' (duplicate)' if queued.duplicate else ''}")


@app.command("dispatch")
def dispatch(
    passes: int = typer.Option(100, help="At most this many passes"), json: bool = JsonOpt
) -> None:
    """Deliver every due message now (the worker does this continuously)."""
    ctx = open_context()
    with Progress(console=console, transient=True, disable=json) as progress:
        task = progress.add_task("dispatching", total=None)
        total = service.dispatch_due(
            ctx, passes=passes, on_pass=lambda r: progress.update(task, advance=r.claimed)
        )
    if json:
        emit_json(total)
    else:
        console.print(" ".join(f"{k}={v}" for k, v in total.model_dump().items()))


@app.command("messages")
def messages(
    status: str | None = typer.Option(None, help="Only this status"),
    profile: str | None = typer.Option(None, help="Only this profile"),
    limit: int = typer.Option(50, min=1, max=500),
    json: bool = JsonOpt,
) -> None:
    """List outbox messages, newest first."""
    ctx = open_context()
    with ctx.store.read() as conn:
        page = service.list_messages(
            conn, workspace_id=ctx.workspace_id, status=status, profile_id=profile, limit=limit
        )
    if json:
        emit_json(page.items)
        return
    table = fmt.table("id", "channel", "status", "profile", "created", "error")
    for m in page.items:
        table.add_row(
            m.id, m.channel, m.status, m.profile_id, fmt.when(m.created_at), m.error or ""
        )
    console.print(table)


@providers_app.command("set")
def providers_set(
    channel: str = typer.Argument(..., help="email, sms, push, webhook, ..."),
    name: str = typer.Argument(..., help="Provider name (webhook endpoint name)"),
    kind: str = typer.Argument(..., help="Plugin kind: smtp, twilio, http_sms, fcm, webhook"),
    config: str | None = typer.Option(None, help="Settings as JSON"),
    secret: list[str] = typer.Option([], help="NAME=VALUE, stored encrypted (repeatable)"),
    cost: str = typer.Option("0", help="Cost per message"),
    rate: float | None = typer.Option(None, help="Messages per second"),
    json: bool = JsonOpt,
) -> None:
    """Create or replace a provider."""
    secrets = {}
    for item in secret:
        name_, sep, value = item.partition("=")
        if not sep:
            raise ValidationFailed("secrets are NAME=VALUE", field="secret")
        secrets[name_] = value
    ctx = open_context()
    provider = ProviderIn.model_validate(
        {
            "channel": channel,
            "name": name,
            "kind": kind,
            "config": _json_arg(config, "config"),
            "secrets": secrets,
            "cost": cost,
            "rate_per_second": rate,
        }
    )
    with ctx.store.begin() as conn:
        saved = service.save_provider(
            conn,
            workspace_id=ctx.workspace_id,
            provider=provider,
            secret_key=ctx.settings.secret_key,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(saved)
    else:
        console.print(f"{saved.id} {saved.channel}/{saved.name} ({saved.kind})")


@providers_app.command("list")
def providers_list(json: bool = JsonOpt) -> None:
    """List providers (secrets are never shown, only their names)."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.list_providers(conn, workspace_id=ctx.workspace_id)
    if json:
        emit_json(rows)
        return
    table = fmt.table("channel", "name", "kind", "default", "secrets")
    for p in rows:
        table.add_row(
            p.channel, p.name, p.kind, "yes" if p.is_default else "", ",".join(p.secret_names)
        )
    console.print(table)


@templates_app.command("set")
def templates_set(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="YAML/JSON file"),
    json: bool = JsonOpt,
) -> None:
    """Save templates from a YAML or JSON file (one document or a list)."""
    documents = read_yaml_file(path)
    items = documents if isinstance(documents, list) else [documents]
    ctx = open_context()
    saved = []
    with ctx.store.begin() as conn:
        for item in items:
            saved.append(
                service.save_template(
                    conn,
                    workspace_id=ctx.workspace_id,
                    template=TemplateIn.model_validate(item),
                    now=ctx.clock.now(),
                    actor=Actor.cli(ctx.workspace_id),
                )
            )
    if json:
        emit_json(saved)
    else:
        for t in saved:
            console.print(f"{t.kind} {t.key} [{t.locale}] saved")


@templates_app.command("list")
def templates_list(json: bool = JsonOpt) -> None:
    """List templates, layouts and snippets."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.list_templates(conn, workspace_id=ctx.workspace_id)
    if json:
        emit_json(rows)
        return
    table = fmt.table("kind", "key", "locale", "channel", "subject")
    for t in rows:
        table.add_row(t.kind, t.key, t.locale, t.channel or "", t.subject or "")
    console.print(table)


@templates_app.command("check")
def templates_check(
    key: str = typer.Argument(...),
    channel: str = typer.Option("email", help="The channel a journey sends it on"),
    json: bool = JsonOpt,
) -> None:
    """Render every locale with its sample profile and data; exit 2 on problems."""
    ctx = open_context()
    with ctx.store.read() as conn:
        problems = service.check_template(
            conn, workspace_id=ctx.workspace_id, key=key, channel=channel
        )
    if json:
        emit_json({"ok": not problems, "problems": problems})
    else:
        for problem in problems:
            console.print(problem, markup=False)
        if not problems:
            console.print("ok")
    if problems:
        raise typer.Exit(2)


@templates_app.command("preview")
def templates_preview(
    key: str = typer.Argument(...),
    profile: str | None = typer.Option(None, help="Render for this profile"),
    data: str | None = typer.Option(None, help="Variables as JSON (default: sample data)"),
    json: bool = JsonOpt,
) -> None:
    """Render a template for a real profile."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rendered = service.preview_template(
            conn,
            workspace_id=ctx.workspace_id,
            key=key,
            profile_id=profile,
            data=_json_arg(data, "data") if data else None,
        )
    if json:
        emit_json(rendered)
        return
    console.print(f"Subject: {rendered.subject or ''}  [{rendered.locale}]", markup=False)
    console.print(rendered.text, markup=False)


@app.command("suppressions")
def suppressions(json: bool = JsonOpt) -> None:
    """List suppressed addresses (bounces, complaints, STOP, manual)."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.list_suppressions(conn, workspace_id=ctx.workspace_id)
    if json:
        emit_json(rows)
        return
    table = fmt.table("channel", "address", "reason", "since")
    for s in rows:
        table.add_row(s.channel, s.address, s.reason, fmt.when(s.created_at))
    console.print(table)


@app.command("tasks")
def tasks(
    status: str | None = typer.Option("open", help="open, claimed or done"),
    queue: str | None = typer.Option(None),
    json: bool = JsonOpt,
) -> None:
    """List agent hand-off tasks, highest priority first."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.list_tasks(conn, workspace_id=ctx.workspace_id, status=status, queue=queue)
    if json:
        emit_json(rows)
        return
    table = fmt.table("id", "queue", "priority", "profile", "reason", "status")
    for t in rows:
        table.add_row(t.id, t.queue, str(t.priority), t.profile_id, t.reason, t.status)
    console.print(table)
