from __future__ import annotations

import typer

from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, open_context
from partitur.core.actions import Actor
from partitur.workspaces import service
from partitur.workspaces.contracts import Scope

sources_app = typer.Typer(
    rich_markup_mode=None,
    help="Sources (web, app, crm, ...) and their write keys.",
    no_args_is_help=True,
)
tokens_app = typer.Typer(rich_markup_mode=None, help="Management API tokens.", no_args_is_help=True)


@sources_app.command("create")
def sources_create(
    name: str = typer.Argument(..., help="Source name, e.g. web"), json: bool = JsonOpt
) -> None:
    """Create a source and print its write key."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        source = service.create_source(
            conn,
            workspace_id=ctx.workspace_id,
            name=name,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(source)
    else:
        console.print(source.write_key)


@sources_app.command("list")
def sources_list(json: bool = JsonOpt) -> None:
    """List sources with their write keys."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.list_sources(conn, workspace_id=ctx.workspace_id)
    if json:
        emit_json(rows)
        return
    table = fmt.table("name", "id", "write key", "created")
    for s in rows:
        table.add_row(s.name, s.id, s.write_key, fmt.when(s.created_at))
    console.print(table)


@tokens_app.command("create")
def tokens_create(
    scope: list[Scope] = typer.Option(..., "--scope", help="read, write or admin (repeatable)"),
    name: str = typer.Option("cli", help="A name to recognise the token by"),
    json: bool = JsonOpt,
) -> None:
    """Issue an API token and print it (shown only once)."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        issued = service.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name=name,
            scopes=scope,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(issued)
    else:
        console.print(issued.token)


@tokens_app.command("list")
def tokens_list(json: bool = JsonOpt) -> None:
    """List API tokens (without the secrets)."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = service.list_tokens(conn, workspace_id=ctx.workspace_id)
    if json:
        emit_json(rows)
        return
    table = fmt.table("id", "name", "scopes", "created", "revoked")
    for t in rows:
        table.add_row(
            t.id,
            t.name,
            ",".join(t.scopes),
            fmt.when(t.created_at),
            fmt.when(t.revoked_at) if t.revoked_at else "",
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: str, json: bool = JsonOpt) -> None:
    """Revoke a token by id."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        service.revoke_token(
            conn,
            workspace_id=ctx.workspace_id,
            token_id=token_id,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json({"revoked": token_id})
        return
    console.print(f"revoked {token_id}")
