"""Next best offer (eligibility, validity, caps, ranking, fatigue, arbitration, holdout) and
value tiers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.decisions import logic, service
from partitur.decisions.contracts import OfferIn
from tests.support.ml_data import add_events, add_profile

NO_HOLDOUT = {"holdout_percent": 0, "fatigue_per_impression": 1.0, "fatigue_window": "P14D"}


def _setup(ctx: Context, settings: dict | None = None) -> None:
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        service.put_policy(
            conn,
            workspace_id=ctx.workspace_id,
            kind="offers",
            document=settings or NO_HOLDOUT,
            now=now,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
        add_profile(
            conn,
            workspace_id=ctx.workspace_id,
            profile_id="anna",
            now=now,
            traits={"country": "DE"},
            computed={"scores": {"upgrade": 0.5, "insurance": 0.05}},
        )
        add_profile(
            conn,
            workspace_id=ctx.workspace_id,
            profile_id="ben",
            now=now,
            traits={"country": "AT"},
            computed={"scores": {"upgrade": 0.02}},
        )


def _offer(ctx: Context, key: str, **fields) -> None:
    defaults = {"name": key, "margin": Decimal("100"), "cost": Decimal("10")}
    with ctx.store.begin() as conn:
        service.put_offer(
            conn,
            workspace_id=ctx.workspace_id,
            key=key,
            offer=OfferIn(**{**defaults, **fields}),
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )


def _decide(ctx: Context, profile: str = "anna", placement: str = "app-home"):
    with ctx.store.begin() as conn:
        return service.next_best_offer(
            conn,
            workspace_id=ctx.workspace_id,
            profile_id=profile,
            placement=placement,
            now=ctx.clock.now(),
        )


def test_ranking_is_propensity_times_value(ctx: Context) -> None:
    _setup(ctx)
    _offer(ctx, "upgrade", propensity_score="upgrade", margin=Decimal("40"), cost=Decimal("0"))
    _offer(ctx, "insurance", propensity_score="insurance", margin=Decimal("300"), cost=Decimal("0"))
    decision = _decide(ctx)  # anna: 0.5 x 40 = 20 beats 0.05 x 300 = 15
    assert decision.offer_key == "upgrade" and decision.score == pytest.approx(20)
    assert [c["offer_key"] for c in decision.candidates] == ["upgrade", "insurance"]
    # ben has no insurance score: the base propensity 0.1 x 300 = 30 beats 0.02 x 40
    assert _decide(ctx, "ben").offer_key == "insurance"


def test_eligibility_validity_and_placement_filter_offers(ctx: Context) -> None:
    _setup(ctx)
    now = ctx.clock.now()
    _offer(ctx, "de-only", eligibility={"trait": "country", "op": "eq", "value": "DE"})
    _offer(ctx, "expired", valid_until=now - timedelta(days=1), margin=Decimal("999"))
    _offer(ctx, "web-only", placements=["web-banner"], margin=Decimal("999"))
    _offer(
        ctx,
        "recent-buyers",
        margin=Decimal("999"),
        eligibility={"event": "Order Completed", "within": "P30D"},
    )
    assert _decide(ctx, "anna").offer_key == "de-only"
    ben = _decide(ctx, "ben")
    assert ben.offer_key is None and "de-only: not eligible" in ben.reasons
    with ctx.store.begin() as conn:
        add_events(
            conn,
            workspace_id=ctx.workspace_id,
            rows=[("ben", "Order Completed", now - timedelta(days=2), {})],
        )
    assert _decide(ctx, "ben").offer_key == "recent-buyers"
    assert _decide(ctx, "anna", "web-banner").offer_key == "web-only"


def test_caps_fatigue_and_priority_arbitration(ctx: Context) -> None:
    _setup(ctx)
    _offer(
        ctx,
        "big",
        margin=Decimal("100"),
        cost=Decimal("0"),
        per_profile_cap=2,
        per_profile_window="P7D",
    )
    _offer(ctx, "small", margin=Decimal("95"), cost=Decimal("0"), global_cap=2)
    # base propensity 0.1: big = 10, small = 9.5; fatigue 1.0 per impression in 14 days
    assert _decide(ctx).offer_key == "big"
    second = _decide(ctx)  # big: 10 - 1 = 9 < small 9.5
    assert second.offer_key == "small"
    assert _decide(ctx).offer_key == "big"  # big 9, small 8.5
    capped = _decide(ctx)  # big shown twice in 7 days: capped; small 8.5
    assert capped.offer_key == "small"
    assert any("cap 2" in r for r in capped.reasons)
    ben = _decide(ctx, "ben")  # small was shown twice in total: its global cap is reached
    assert ben.offer_key == "big"
    assert "small: global cap of 2 reached" in ben.reasons
    ctx.clock.advance(timedelta(days=8))  # per-profile window passed, fatigue still counts
    assert _decide(ctx).offer_key == "big"
    _offer(ctx, "service-notice", priority=10, margin=Decimal("1"), cost=Decimal("0"))
    arbitration = _decide(ctx)
    assert arbitration.offer_key == "service-notice"
    assert "higher priority" in arbitration.reasons[1]


def test_holdout_profiles_get_no_offer_and_stay_in_the_holdout(ctx: Context) -> None:
    _setup(ctx, {"holdout_percent": 50})
    held = [p for p in ("anna", "ben") if logic.in_holdout(ctx.workspace_id, p, 50)]
    _offer(ctx, "any")
    for pid in ("anna", "ben"):
        decision = _decide(ctx, pid)
        assert decision.holdout == (pid in held)
        assert (decision.offer_key is None) == (pid in held)
        assert _decide(ctx, pid).holdout == decision.holdout
    ids = [f"p{i}" for i in range(4000)]
    share = sum(logic.in_holdout("ws", i, 10) for i in ids) / len(ids)
    assert 0.08 < share < 0.12


def test_offer_api_and_catalogue(ctx: Context, client: TestClient, admin_headers) -> None:
    _setup(ctx)
    body = {
        "name": "Upgrade",
        "margin": "40.00",
        "cost": "5",
        "propensity_score": "upgrade",
        "eligibility": {"score": "upgrade", "op": "gte", "value": 0.3},
    }
    saved = client.put("/api/decisions/catalogue/upgrade", json=body, headers=admin_headers)
    assert saved.status_code == 200
    assert Decimal(saved.json()["margin"]) == Decimal("40")
    decision = client.post(
        "/api/decisions/offers",
        json={"profile_id": "anna", "placement": "app"},
        headers=admin_headers,
    ).json()
    assert decision["offer_key"] == "upgrade" and decision["score"] == pytest.approx(17.5)
    none = client.post(
        "/api/decisions/offers",
        json={"profile_id": "ben", "placement": "app"},
        headers=admin_headers,
    ).json()
    assert none["offer_key"] is None
    bad = client.put(
        "/api/decisions/catalogue/x",
        json={
            "name": "x",
            "valid_from": "2026-02-01T00:00:00Z",
            "valid_until": "2026-01-01T00:00:00Z",
        },
        headers=admin_headers,
    )
    assert bad.status_code == 422
    assert (
        client.delete("/api/decisions/catalogue/upgrade", headers=admin_headers).status_code == 204
    )
    assert client.get("/api/decisions/catalogue/upgrade", headers=admin_headers).status_code == 404


def test_value_tiers_from_weighted_features(
    ctx: Context, client: TestClient, admin_headers
) -> None:
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        add_profile(
            conn,
            workspace_id=ctx.workspace_id,
            profile_id="vip",
            now=now,
            computed={
                "clv": {"value": 5000},
                "scores": {
                    "churn": 0.05,
                    "loyalty": 0.9,
                    "digital_affinity": 0.8,
                    "influence": 1,
                },
                "service_cost": 20,
            },
        )
        add_profile(
            conn,
            workspace_id=ctx.workspace_id,
            profile_id="occasional",
            now=now,
            computed={
                "clv": {"value": 20},
                "scores": {"churn": 0.9, "loyalty": 0.1, "digital_affinity": 0.2},
                "service_cost": 180,
            },
        )
    vip = client.get("/api/decisions/value/vip", headers=admin_headers).json()
    assert vip["tier"] == "premium" and vip["service_level"]["queue"] == "specialist"
    assert vip["contributions"]["clv"] == pytest.approx(0.4)
    # the reasons name each input with its value, largest contribution first
    assert vip["reasons"][0].startswith("clv 5,000 EUR (cap 600): +0.400")
    low = client.get("/api/decisions/value/occasional", headers=admin_headers).json()
    assert low["tier"] == "low" and low["score"] < 0.2
    assert any(r.startswith("service_cost 180 EUR") for r in low["reasons"])
    refreshed = client.post("/api/decisions/value/refresh", headers=admin_headers).json()
    assert refreshed["profiles_updated"] == 2
    with ctx.store.read() as conn:
        from partitur.decisions import service as decisions

        assert decisions.tier_shares(conn, workspace_id=ctx.workspace_id) == {
            "premium": 0.5,
            "valuable": 0.0,
            "standard": 0.0,
            "low": 0.5,
        }
    # the stored tier is what routing reads
    route = client.post(
        "/api/decisions/route",
        headers=admin_headers,
        json={"profile_id": "vip", "intent": "billing", "channel": "chat", "urgency": "high"},
    ).json()
    assert route["tier"] == "premium" and route["target"] == "specialist"
    # a model that weighs only CLV with a low cap puts the occasional buyer higher
    model = {
        "features": {"clv": {"path": "computed.clv.value", "weight": 1, "cap": 25}},
        "tiers": [{"name": "gold", "min_score": 0.5}, {"name": "rest", "min_score": 0}],
    }
    assert (
        client.put(
            "/api/decisions/policies/value_model", json=model, headers=admin_headers
        ).status_code
        == 200
    )
    assert (
        client.get("/api/decisions/value/occasional", headers=admin_headers).json()["tier"]
        == "gold"
    )


def test_offers_can_target_a_segment(ctx: Context) -> None:
    from partitur.segments import service as segments
    from partitur.segments.contracts import SegmentDefinition

    _setup(ctx)
    _offer(ctx, "austria-only", eligibility={"segment": "austrians"})
    with ctx.store.begin() as conn:
        segments.create_segment(
            conn,
            workspace_id=ctx.workspace_id,
            definition=SegmentDefinition(
                key="austrians",
                name="Austrians",
                rule={"trait": "country", "op": "eq", "value": "AT"},
            ),
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    assert _decide(ctx, "ben").offer_key == "austria-only"
    assert _decide(ctx, "anna").offer_key is None
