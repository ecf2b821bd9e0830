"""The example journeys are valid and behave as their descriptions say (simulated)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from partitur.journeys.definition import JourneyDefinition, validate_definition
from partitur.journeys.simulate import SimEvent, SimProfile, run_profile

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "journeys"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def load(name: str) -> JourneyDefinition:
    return validate_definition(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def drive(
    name: str,
    events: list[tuple[str, float, dict[str, Any]]],
    *,
    traits: dict[str, Any] | None = None,
    computed: dict[str, Any] | None = None,
    segments: frozenset[str] = frozenset(),
    **kwargs: Any,
) -> Any:
    profile = SimProfile(
        "p1",
        traits=dict(traits or {}),
        computed=dict(computed or {}),
        segments=segments,
        timezone="Europe/Berlin",
    )
    evs = [SimEvent("p1", e, at(h), p) for e, h, p in events]
    return run_profile(load(name), profile, evs, start=T0, end=T0 + timedelta(days=40), **kwargs)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_is_a_valid_journey(path: Path) -> None:
    definition = validate_definition(yaml.safe_load(path.read_text()))
    assert definition.key == path.stem


def test_welcome_series_sends_three_touches_unless_the_customer_orders() -> None:
    result = drive("welcome", [("Signed Up", 0, {})])
    assert [s.template for s in result.sends] == [
        "welcome",
        "getting-started-tips",
        "first-order-nudge",
    ]
    ordered = drive("welcome", [("Signed Up", 0, {}), ("Order Completed", 30, {"revenue": 20})])
    assert ordered.instances[0].status == "converted"


def test_cart_abandonment_discount_only_for_high_value_customers() -> None:
    cart = [("Product Added", 0, {"price": 80})]
    regular = drive("cart-abandonment", cart)
    assert [s.template for s in regular.sends] == ["cart-reminder", "cart-reminder-sms"]
    valuable = drive("cart-abandonment", cart, computed={"clv": 900})
    assert [s.template for s in valuable.sends] == ["cart-reminder", "cart-discount-10"]
    quick = drive("cart-abandonment", [*cart, ("Order Completed", 0.5, {"revenue": 80})])
    assert quick.sends == [] and quick.instances[0].status == "converted"


def test_outage_notice_uses_the_preferred_channel_and_pauses_marketing() -> None:
    result = drive(
        "outage-notice",
        [("Outage Detected", 0, {"region": "north"}), ("Outage Resolved", 5, {})],
        traits={"preferred_channel": "push"},
    )
    assert [(s.channel, s.template) for s in result.sends] == [
        ("push", "outage-notice"),
        ("push", "outage-resolved"),
    ]
    updates = [c for c in result.commands if type(c).__name__ == "UpdateProfile"]
    assert [u.traits["marketing_paused"] for u in updates] == [True, False]


def test_mortgage_research_three_views_in_a_week_creates_a_sales_task_and_an_email() -> None:
    views = [("Article", h, {"category": "financing"}) for h in (0, 30, 100)]
    result = drive("mortgage-offer", views, decide=lambda pid, placement, now: "fixed-rate-loan")
    assert [(s.channel, s.template) for s in result.sends][:2] == [
        ("agent_task", "mortgage-lead"),
        ("email", "loan-offer-fixed-rate"),
    ]
    two = drive("mortgage-offer", views[:2])
    assert two.sends == []


def test_churn_winback_is_sticky_and_exits_when_no_longer_at_risk() -> None:
    first = drive("churn-winback", [], segments=frozenset({"churn-risk"}))
    again = drive("churn-winback", [], segments=frozenset({"churn-risk"}))
    assert first.instances[0].split_variants == again.instances[0].split_variants
    paused = drive("churn-winback", [], traits={"marketing_paused": True})
    assert paused.instances[0].end_reason == "marketing paused"


def test_csat_survey_reminds_once_and_escalates_low_scores() -> None:
    silent = drive("csat-survey", [("Ticket Resolved", 0, {})])
    assert [s.template for s in silent.sends] == ["csat-survey", "csat-survey"]
    unhappy = drive(
        "csat-survey", [("Ticket Resolved", 0, {}), ("CSAT Submitted", 3, {"score": 1})]
    )
    assert [s.template for s in unhappy.sends] == ["csat-survey", "csat-recovery"]


def test_priority_care_routes_a_ticket_on_tier_churn_score_and_sentiment() -> None:
    ticket = [("Ticket Created", 0, {"topic": "delivery"})]

    def first_hop(**computed: Any) -> str:
        run = drive("priority-care", ticket, computed=computed)
        return run.path()[1]

    assert first_hop(tier="premium", scores={"churn": 0.9}) == "specialist"
    assert first_hop(tier="standard", scores={"churn": 0.85}) == "complaint_management"
    assert first_hop(tier="standard", scores={"churn": 0.7}) == "self_service"
    assert first_hop(tier="standard", sentiment={"score": -0.6}) == "complaint_management"
    assert first_hop(tier="standard", scores={"churn": 0.1}) == "self_service"
    resolved = drive("priority-care", [*ticket, ("Ticket Resolved", 5, {})], computed={})
    assert resolved.instances[0].status == "converted"
    waiting = drive("priority-care", ticket, computed={"tier": "premium"})
    assert [s.template for s in waiting.sends] == ["premium-callback", "ticket-escalation"]
