"""Routing: tier x urgency, escalated negative feedback, digital attempt skips the bot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from partitur.context import Context
from partitur.decisions import service
from partitur.decisions.contracts import RouteRequest
from tests.support.ml_data import add_events, add_profile


@pytest.fixture
def people(ctx: Context) -> Context:
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        for tier in ("premium", "valuable", "standard", "low"):
            add_profile(
                conn,
                workspace_id=ctx.workspace_id,
                profile_id=tier,
                now=now,
                computed={"tier": tier},
            )
        add_profile(
            conn,
            workspace_id=ctx.workspace_id,
            profile_id="unhappy",
            now=now,
            computed={"tier": "valuable", "sentiment": {"label": "negative", "score": -0.6}},
        )
    return ctx


def _route(ctx: Context, profile: str, urgency: str = "normal", **extra) -> object:
    request = RouteRequest(
        profile_id=profile,
        intent=extra.pop("intent", "billing"),
        channel="phone",
        urgency=urgency,
        **extra,
    )
    with ctx.store.read() as conn:
        return service.route_request(
            conn, workspace_id=ctx.workspace_id, request=request, now=ctx.clock.now()
        )


@pytest.mark.parametrize(
    ("tier", "urgency", "target", "priority"),
    [
        ("premium", "critical", "specialist", 1),
        ("premium", "low", "specialist", 2),
        ("valuable", "high", "standard_agent", 2),
        ("valuable", "normal", "standard_agent", 3),
        ("standard", "high", "standard_agent", 3),
        ("standard", "normal", "bot", 4),
        ("low", "low", "self_service", 5),
        ("low", "critical", "bot", 4),
    ],
)
def test_tier_and_urgency_choose_the_target_and_priority(
    people: Context, tier: str, urgency: str, target: str, priority: int
) -> None:
    decision = _route(people, tier, urgency)
    assert (decision.target, decision.priority, decision.tier) == (target, priority, tier)
    assert decision.reasons


def test_escalated_negative_feedback_goes_to_complaint_management(people: Context) -> None:
    angry = _route(
        people,
        "premium",
        "normal",
        escalated=True,
        text="This is the third time I'm writing, your service is unacceptable!",
    )
    assert angry.target == "complaint_management" and angry.priority == 1
    assert angry.rule == "escalated-negative-feedback"
    # the profile's stored sentiment counts too
    assert _route(people, "unhappy", escalated=True).target == "complaint_management"
    # escalated but friendly, or negative but not escalated: the usual route
    assert _route(people, "premium", escalated=True, text="Thanks, all good!").target == (
        "specialist"
    )
    assert _route(people, "unhappy").target == "standard_agent"


def test_a_digital_attempt_on_the_same_topic_in_24_hours_skips_the_bot(people: Context) -> None:
    now = people.clock.now()
    with people.store.begin() as conn:
        add_events(
            conn,
            workspace_id=people.workspace_id,
            rows=[
                (
                    "standard",
                    "Chatbot Conversation",
                    now - timedelta(hours=3),
                    {"topic": "Billing"},
                ),
                ("low", "Help Article Viewed", now - timedelta(hours=30), {"topic": "billing"}),
            ],
        )
    skipped = _route(people, "standard", intent="billing")
    assert skipped.target == "standard_agent"
    assert any("bot skipped" in r for r in skipped.reasons)
    assert _route(people, "standard", intent="delivery").target == "bot"  # other topic
    assert _route(people, "low", "critical", intent="billing").target == "bot"  # 30 h ago


def test_routing_rules_are_data_edited_through_the_api(
    people: Context, client: TestClient, admin_headers: dict[str, str]
) -> None:
    body = {"profile_id": "low", "intent": "contract", "channel": "phone", "urgency": "low"}
    first = client.post("/api/decisions/route", json=body, headers=admin_headers)
    assert first.status_code == 200 and first.json()["target"] == "self_service"

    policy = client.get("/api/decisions/policies/routing", headers=admin_headers).json()
    assert policy["version"] == 0
    rules = policy["document"]["rules"]
    rules.insert(
        0,
        {
            "key": "contracts-to-specialists",
            "target": "specialist",
            "priority": 2,
            "when": {"trait": "request.intent", "op": "eq", "value": "contract"},
            "reason": "contract questions need a specialist",
        },
    )
    saved = client.put(
        "/api/decisions/policies/routing", json=policy["document"], headers=admin_headers
    )
    assert saved.status_code == 200 and saved.json()["version"] == 1
    second = client.post("/api/decisions/route", json=body, headers=admin_headers).json()
    assert second["target"] == "specialist"
    assert second["reasons"] == ["contract questions need a specialist"]

    broken = {
        "rules": [
            {
                "key": "x",
                "effect": "route",
                "reason": "no target",
                "when": {"trait": "a", "op": "bogus"},
            }
        ]
    }
    refused = client.put("/api/decisions/policies/routing", json=broken, headers=admin_headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert any(p["path"].startswith("rules.0") for p in refused.json()["problems"])


def test_unknown_profile_is_a_404(people: Context, client: TestClient, admin_headers) -> None:
    body = {"profile_id": "nobody", "intent": "x", "channel": "phone"}
    response = client.post("/api/decisions/route", json=body, headers=admin_headers)
    assert response.status_code == 404 and response.json()["field"] == "profile_id"


def test_the_decision_endpoints_check_token_scope_and_body(
    people: Context, client: TestClient, admin_headers: dict[str, str]
) -> None:
    body = {"profile_id": "premium", "intent": "billing", "channel": "phone"}
    assert client.post("/api/decisions/route", json=body).status_code == 401
    bad_token = {"Authorization": "Bearer nope"}
    assert client.post("/api/decisions/route", json=body, headers=bad_token).status_code == 401
    not_json = client.post(
        "/api/decisions/route",
        content=b"{oops",
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert not_json.status_code == 400
    invalid = client.post(
        "/api/decisions/route", json={**body, "urgency": "whenever"}, headers=admin_headers
    )
    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith("application/problem+json")
    assert "urgency" in invalid.text
    offers = client.post(
        "/api/decisions/offers", json={"profile_id": "premium"}, headers=admin_headers
    )
    assert offers.status_code == 422 and "placement" in offers.text
