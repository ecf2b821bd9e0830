"""Demo workspace steps of the decisions domain: value tiers and an offer catalogue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.errors import NotFound
from partitur.decisions import service
from partitur.decisions.contracts import OfferIn

DEMO_OFFERS: dict[str, dict[str, Any]] = {
    "vip-early-access": {
        "name": "Early access to the new collection",
        "placements": ["app-home", "email"],
        "eligibility": {"trait": "computed.tier", "op": "in", "value": ["premium", "valuable"]},
        "priority": 1,
        "margin": Decimal("25"),
        "cost": Decimal("2"),
        "base_propensity": 0.3,
        "per_profile_cap": 2,
        "per_profile_window": "P30D",
    },
    "winback-10": {
        "name": "10 % off your next order",
        "placements": ["app-home", "email", "web-banner"],
        "eligibility": {"score": "churn", "op": "gte", "value": 0.3},
        "margin": Decimal("18"),
        "cost": Decimal("6"),
        "propensity_score": "p_alive",
        "per_profile_cap": 1,
        "per_profile_window": "P60D",
        "global_cap": 5000,
    },
    "newsletter": {
        "name": "Subscribe to the newsletter",
        "margin": Decimal("3"),
        "cost": Decimal("0"),
        "base_propensity": 0.15,
        "per_profile_cap": 3,
        "per_profile_window": "P90D",
    },
}


def values_step(ctx: Context, report: Any) -> None:
    """Value score and tier on every profile."""
    with ctx.store.begin() as conn:
        updated = service.score_all_values(
            conn,
            workspace_id=ctx.workspace_id,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "demo"),
        )
        shares = service.tier_shares(conn, workspace_id=ctx.workspace_id)
    report.add("profiles with a value tier", updated)
    report.add("value tiers", ", ".join(f"{t} {share:.0%}" for t, share in shares.items()))


def offers_step(ctx: Context, report: Any) -> None:
    """The example offer catalogue (offers already there are left as they are)."""
    added = 0
    with ctx.store.begin() as conn:
        for key, document in DEMO_OFFERS.items():
            try:
                service.get_offer(conn, workspace_id=ctx.workspace_id, key=key)
                continue
            except NotFound:
                pass
            service.put_offer(
                conn,
                workspace_id=ctx.workspace_id,
                key=key,
                offer=OfferIn.model_validate(document),
                now=ctx.clock.now(),
                actor=Actor.system(ctx.workspace_id, "demo"),
            )
            added += 1
    report.add("offers", len(DEMO_OFFERS))
    if added:
        report.note("try: partitur decisions offer --profile <id> --placement app-home")


DEMO_STEPS = [values_step, offers_step]
