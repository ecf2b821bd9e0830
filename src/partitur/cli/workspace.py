from __future__ import annotations

import secrets

import typer

from partitur.access import service as access
from partitur.access.contracts import Scope, UserKind
from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, open_context
from partitur.context import Context
from partitur.core.actions import Actor, Permission, Role
from partitur.core.errors import NotFound
from partitur.workspaces import service

sources_app = typer.Typer(
    rich_markup_mode=None,
    help="Sources (web, app, crm, ...) and their write keys.",
    no_args_is_help=True,
)
tokens_app = typer.Typer(rich_markup_mode=None, help="Management API tokens.", no_args_is_help=True)
users_app = typer.Typer(
    rich_markup_mode=None,
    help="People and service accounts of the workspace, and their roles.",
    no_args_is_help=True,
)


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


def _user_id(ctx: Context, who: str) -> str:
    """A user id, or the id of the person with this e-mail / the service account so named."""
    with ctx.store.read() as conn:
        for user in access.list_users(conn, workspace_id=ctx.workspace_id):
            if who in (user.id, user.email, user.name if user.kind is UserKind.service else None):
                return user.id
    raise NotFound(f"no person or service account {who!r}", field="user")


@tokens_app.command("create")
def tokens_create(
    scope: list[Scope] = typer.Option(
        [], "--scope", help="read, write or admin: acts as the service account of that scope"
    ),
    user: str | None = typer.Option(
        None, "--user", help="the person (e-mail) or service account (name) it acts as"
    ),
    permission: list[Permission] = typer.Option(
        [], "--permission", help="scope the token down to these permissions (repeatable)"
    ),
    name: str = typer.Option("cli", help="A name to recognise the token by"),
    json: bool = JsonOpt,
) -> None:
    """Issue an API token and print it (shown only once)."""
    ctx = open_context()
    user_id = _user_id(ctx, user) if user else None
    if not scope and user_id is None:
        raise typer.BadParameter("give --scope or --user")
    with ctx.store.begin() as conn:
        issued = access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name=name,
            user_id=user_id,
            scopes=scope or None,
            permissions=permission or None,
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
        rows = access.list_tokens(conn, workspace_id=ctx.workspace_id)
    if json:
        emit_json(rows)
        return
    table = fmt.table("id", "name", "acts as", "permissions", "created", "revoked")
    for t in rows:
        table.add_row(
            t.id,
            t.name,
            t.owner_name,
            "all of the role" if t.permissions is None else ",".join(t.permissions),
            fmt.when(t.created_at),
            fmt.when(t.revoked_at) if t.revoked_at else "",
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: str, json: bool = JsonOpt) -> None:
    """Revoke a token by id."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        access.revoke_token(
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


@users_app.command("create")
def users_create(
    email: str = typer.Argument(..., help="The person's e-mail address"),
    role: Role = typer.Option(..., "--role", help="owner, admin, designer, publisher, ..."),
    name: str | None = typer.Option(None, help="Their name (default: the e-mail's local part)"),
    json: bool = JsonOpt,
) -> None:
    """Create a person with a random password and print it (shown only once)."""
    ctx = open_context()
    password = secrets.token_urlsafe(15)
    with ctx.store.begin() as conn:
        user = access.create_user(
            conn,
            workspace_id=ctx.workspace_id,
            email=email,
            role=role,
            name=name,
            password=password,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json({"user": user.model_dump(mode="json"), "password": password})
    else:
        console.print(f"{user.email} ({user.role.value}): password [bold]{password}[/]")


@users_app.command("invite")
def users_invite(
    email: str = typer.Argument(..., help="The person's e-mail address"),
    role: Role = typer.Option(..., "--role"),
    name: str | None = typer.Option(None),
    json: bool = JsonOpt,
) -> None:
    """Invite a person and print the one-time link with which they set their password."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        link = access.invite_user(
            conn,
            workspace_id=ctx.workspace_id,
            email=email,
            role=role,
            name=name,
            base_url=ctx.settings.base_url,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(link)
    else:
        console.print(link.url)


@users_app.command("list")
def users_list(json: bool = JsonOpt) -> None:
    """List people and service accounts with their roles."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = access.list_users(conn, workspace_id=ctx.workspace_id)
    if json:
        emit_json(rows)
        return
    table = fmt.table("id", "kind", "e-mail", "name", "role", "status", "last sign-in")
    for u in rows:
        table.add_row(
            u.id,
            u.kind.value,
            u.email or "",
            u.name,
            u.role.value,
            u.status.value,
            fmt.when(u.last_sign_in_at) if u.last_sign_in_at else "",
        )
    console.print(table)


@users_app.command("set-role")
def users_set_role(
    user: str = typer.Argument(..., help="e-mail, service account name or id"),
    role: Role = typer.Argument(...),
) -> None:
    """Give a person or service account another role."""
    ctx = open_context()
    user_id = _user_id(ctx, user)
    with ctx.store.begin() as conn:
        changed = access.change_role(
            conn,
            workspace_id=ctx.workspace_id,
            user_id=user_id,
            role=role,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    console.print(f"{changed.email or changed.name}: {changed.role.value}")


@users_app.command("disable")
def users_disable(
    user: str = typer.Argument(..., help="e-mail, service account name or id"),
    enable: bool = typer.Option(False, "--enable", help="enable again instead"),
) -> None:
    """Disable a person or service account (sessions end, tokens are refused at once)."""
    ctx = open_context()
    user_id = _user_id(ctx, user)
    with ctx.store.begin() as conn:
        changed = access.set_user_enabled(
            conn,
            workspace_id=ctx.workspace_id,
            user_id=user_id,
            enabled=enable,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    console.print(f"{changed.email or changed.name}: {changed.status.value}")


@users_app.command("reset-password")
def users_reset_password(
    user: str = typer.Argument(..., help="e-mail or id"),
) -> None:
    """End the person's sessions, void their password and print a one-time link to set one."""
    ctx = open_context()
    user_id = _user_id(ctx, user)
    with ctx.store.begin() as conn:
        link = access.reset_password(
            conn,
            workspace_id=ctx.workspace_id,
            user_id=user_id,
            base_url=ctx.settings.base_url,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    console.print(link.url)
