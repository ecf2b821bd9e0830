"""``partitur decisions``: routing, next best offer, value tiers, policies and the catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml

from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, open_context
from partitur.core.actions import Actor
from partitur.core.errors import BadRequest
from partitur.core.safe_yaml import YamlRefused, load_yaml
from partitur.decisions import service
from partitur.decisions.contracts import OfferIn, RouteRequest

app = typer.Typer(
    rich_markup_mode=None,
    help="Decisions: routing, next best offer, value tiers.",
    no_args_is_help=True,
)


def _document(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except YamlRefused as exc:
        raise BadRequest(f"{path} is not valid JSON/YAML: {exc}", field="file") from exc


@app.command("route")
def route_command(
    profile: str = typer.Option(..., help="Profile id."),
    intent: str = typer.Option(..., help="What the contact is about (topic)."),
    channel: str = typer.Option("phone", help="Channel of the contact."),
    urgency: str = typer.Option("normal", help="low, normal, high or critical."),
    escalated: bool = typer.Option(False, "--escalated", help="The contact is an escalation."),
    text: str = typer.Option(None, help="The customer's words (for sentiment)."),
    json: bool = JsonOpt,
) -> None:
    """Where a contact goes, with priority and reasons."""
    request = RouteRequest.model_validate(
        {
            "profile_id": profile,
            "intent": intent,
            "channel": channel,
            "urgency": urgency,
            "escalated": escalated,
            "text": text,
        }
    )
    ctx = open_context()
    with ctx.store.read() as conn:
        decision = service.route_request(
            conn, workspace_id=ctx.workspace_id, request=request, now=ctx.clock.now()
        )
    if json:
        emit_json(decision)
        return
    console.print(f"{decision.target} (priority {decision.priority}, tier {decision.tier})")
    for reason in decision.reasons:
        console.print(f"  - {reason}", markup=False)


@app.command("offer")
def offer_command(
    profile: str = typer.Option(..., help="Profile id."),
    placement: str = typer.Option(..., help="Where the offer is shown, e.g. app-home."),
    json: bool = JsonOpt,
) -> None:
    """Decide the next best offer (records the impression)."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        decision = service.next_best_offer(
            conn,
            workspace_id=ctx.workspace_id,
            profile_id=profile,
            placement=placement,
            now=ctx.clock.now(),
        )
    if json:
        emit_json(decision)
        return
    console.print(f"{decision.offer_key or 'no offer'} (score {decision.score:.2f})")
    for reason in decision.reasons:
        console.print(f"  - {reason}", markup=False)


@app.command("refresh-values")
def refresh_values_command(json: bool = JsonOpt) -> None:
    """Recompute value score and tier of every profile into computed traits."""
    ctx = open_context()
    with fmt.working("scoring every profile's value", quiet=json), ctx.store.begin() as conn:
        updated = service.score_all_values(
            conn,
            workspace_id=ctx.workspace_id,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json({"profiles_updated": updated})
    else:
        console.print(f"updated {fmt.count(updated)} profiles")


@app.command("policy")
def policy_command(
    kind: str = typer.Argument(..., help="routing, value_model or offers"),
    file: Path = typer.Option(None, "--set", help="Store this JSON/YAML as the new version."),
    json: bool = JsonOpt,
) -> None:
    """Show a policy, or store a new version with --set FILE."""
    ctx = open_context()
    if file is not None:
        with ctx.store.begin() as conn:
            version, policy = service.put_policy(
                conn,
                workspace_id=ctx.workspace_id,
                kind=kind,
                document=_document(file),
                now=ctx.clock.now(),
                actor=Actor.cli(ctx.workspace_id),
            )
    else:
        with ctx.store.read() as conn:
            version, policy = service.get_policy(conn, workspace_id=ctx.workspace_id, kind=kind)
    document = policy.model_dump(mode="json", by_alias=True, exclude_none=True)
    if json:
        emit_json({"kind": kind, "version": version, "document": document})
    else:
        console.print(f"# {kind} version {version}")
        console.print(yaml.safe_dump(document, sort_keys=False), markup=False)


@app.command("offers")
def offers_command(json: bool = JsonOpt) -> None:
    """List the offer catalogue."""
    ctx = open_context()
    with ctx.store.read() as conn:
        offers = service.list_offers(conn, workspace_id=ctx.workspace_id)
    if json:
        emit_json(offers)
        return
    table = fmt.table("key", "name", "priority", "margin", "cost", "placements", "active")
    for o in offers:
        table.add_row(
            o.key,
            o.name,
            str(o.priority),
            fmt.money(o.margin),
            fmt.money(o.cost),
            ",".join(o.placements) or "any",
            "yes" if o.active else "no",
        )
    console.print(table)


@app.command("put-offer")
def put_offer_command(
    key: str = typer.Argument(..., help="Offer key."),
    file: Path = typer.Argument(..., help="JSON/YAML offer document."),
    json: bool = JsonOpt,
) -> None:
    """Create or replace an offer from a JSON/YAML document."""
    offer = OfferIn.model_validate(_document(file))
    ctx = open_context()
    with ctx.store.begin() as conn:
        saved = service.put_offer(
            conn,
            workspace_id=ctx.workspace_id,
            key=key,
            offer=offer,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(saved)
    else:
        console.print(f"saved offer {saved.key}")
