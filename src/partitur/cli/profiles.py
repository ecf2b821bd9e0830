"""``partitur profiles``: show, look up, export and erase profiles; import from CSV."""

from __future__ import annotations

import typer

from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, open_context
from partitur.cli.profiles_import import import_profiles_command
from partitur.core import jsonutil
from partitur.core.actions import Actor
from partitur.core.errors import ValidationFailed
from partitur.privacy import service as privacy
from partitur.profiles import service
from partitur.profiles.contracts import Profile

app = typer.Typer(
    rich_markup_mode=None,
    help="Unified profiles: show, look up, GDPR export and erasure.",
    no_args_is_help=True,
)
app.command("import")(import_profiles_command)


def _print(profile: Profile) -> None:
    table = fmt.table("field", "value", show_header=False)
    table.add_row("id", profile.id)
    if profile.requested_id:
        table.add_row("merged id", f"{profile.requested_id} (merged into this profile)")
    for kind, values in profile.identities.items():
        table.add_row(kind, ", ".join(values))
    for name, value in profile.traits.items():
        table.add_row(f"trait {name}", jsonutil.dumps_str(value))
    for name, value in profile.computed.items():
        table.add_row(name, jsonutil.dumps_str(value))
    table.add_row("timezone", profile.timezone or "")
    table.add_row("locale", profile.locale or "")
    console.print(table)


@app.command("show")
def show(
    profile_id: str = typer.Argument(..., help="Profile id (merged ids redirect)"),
    json: bool = JsonOpt,
) -> None:
    """Show one profile."""
    ctx = open_context()
    with ctx.store.read() as conn:
        profile = service.get_profile(conn, profile_id=profile_id, workspace_id=ctx.workspace_id)
    emit_json(profile) if json else _print(profile)


@app.command("lookup")
def lookup(
    user_id: str | None = typer.Option(None, "--user-id"),
    email: str | None = typer.Option(None, "--email"),
    anonymous_id: str | None = typer.Option(None, "--anonymous-id"),
    phone: str | None = typer.Option(None, "--phone"),
    json: bool = JsonOpt,
) -> None:
    """Find the profile holding one identifier."""
    given = {
        k: v
        for k, v in {
            "user_id": user_id,
            "email": email,
            "anonymous_id": anonymous_id,
            "phone": phone,
        }.items()
        if v
    }
    if len(given) != 1:
        raise ValidationFailed(
            "give exactly one of --user-id, --email, --anonymous-id, --phone", field="user_id"
        )
    ((kind, value),) = given.items()
    ctx = open_context()
    with ctx.store.read() as conn:
        profile = service.find_profile(conn, workspace_id=ctx.workspace_id, kind=kind, value=value)
    emit_json(profile) if json else _print(profile)


@app.command("export")
def export(profile_id: str, json: bool = JsonOpt) -> None:
    """GDPR export: everything about the person, as JSON (``--json`` is the only format)."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        data = privacy.export_profile(
            conn,
            workspace_id=ctx.workspace_id,
            profile_id=profile_id,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    emit_json(data)


@app.command("erase")
def erase(
    profile_id: str,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
    json: bool = JsonOpt,
) -> None:
    """GDPR erasure: delete the person; later events for their identifiers are dropped."""
    if not yes and not json:
        typer.confirm(f"Erase profile {profile_id} and all its events?", abort=True)
    ctx = open_context()
    with ctx.store.begin() as conn:
        erased = privacy.erase_profile(
            conn,
            workspace_id=ctx.workspace_id,
            profile_id=profile_id,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(erased)
    else:
        console.print(
            f"erased {erased.profile_id}: {erased.events_erased} events, "
            f"{erased.identities_erased} identifiers (now suppressed)"
        )
