"""The read API the Studio's journey and journey map pages use, with real journeys, instances
and maps, on SQLite and PostgreSQL: KPI headlines of every journey, a journey's report (flow
figures, exit reasons, time series, split experiments), its typed definition and latest
instances, and a map measured over chosen days with its ranked insights."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from partitur.access.contracts import Scope
from partitur.analytics import kpis
from partitur.analytics.engine import open_engine
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.journey_maps import service as maps
from partitur.journey_maps.contracts import JourneyMapDocument
from partitur.journeys import service as journeys
from partitur.journeys.runtime import assign_variant
from tests.integration.journeys.test_shell import event, profile, publish, pump
from tests.integration.test_studio_api import token
from tests.journey_maps.conftest import MAP, EventLog

ONBOARDING: dict[str, Any] = {
    "key": "onboarding",
    "name": "Onboarding nudges",
    "entry": {"type": "manual"},
    "goal": {"event": "Order Completed"},
    "exits": [{"event": "Unsubscribed"}],
    "start": "ab",
    "nodes": [
        {
            "id": "ab",
            "type": "split",
            "variants": [
                {"key": "short", "weight": 1, "next": "wait_short"},
                {"key": "long", "weight": 1, "next": "wait_long"},
            ],
        },
        {"id": "wait_short", "type": "wait", "duration": "P3D", "next": "tips"},
        {"id": "wait_long", "type": "wait", "duration": "P5D", "next": "tips"},
        {"id": "tips", "type": "send", "channel": "email", "template": "tips"},
    ],
}
PEOPLE = [f"prf_{n}" for n in ("ada", "bo", "cy", "di", "ed", "flo")]


@pytest.fixture
def onboarding(ctx: Context, clock: VirtualClock) -> str:
    """Six profiles enrolled on two days: one converted, one unsubscribed, four still in."""
    publish(ctx, ONBOARDING)
    for pid in PEOPLE:
        profile(ctx, pid, traits={"email": f"{pid}@example.com"})
    for day in (PEOPLE[:3], PEOPLE[3:]):
        with ctx.store.begin() as conn:
            result = journeys.enrol(
                conn, workspace_id=ctx.workspace_id, key="onboarding", profile_ids=day,
                now=clock.now(), actor=Actor.system(ctx.workspace_id, "test")
            )  # fmt: skip
        assert result.enrolled == 3
        clock.advance(timedelta(days=1))
    clock.advance(timedelta(hours=2))
    event(ctx, "prf_ada", "Order Completed", revenue=40)
    event(ctx, "prf_bo", "Unsubscribed")
    pump(ctx)
    return "onboarding"


def test_the_headlines_give_every_published_journey_its_kpis(
    client: TestClient, ctx: Context, onboarding: str
) -> None:
    with ctx.store.begin() as conn:
        journeys.save_draft(
            conn,
            workspace_id=ctx.workspace_id,
            document={**ONBOARDING, "key": "winback", "name": "Win-back draft"},
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    headers = token(ctx, Scope.read)
    listed = {j["key"]: j for j in client.get("/api/journeys", headers=headers).json()}
    assert listed["winback"]["latest_version"] is None
    answer = client.get("/api/analytics/journeys/kpis", headers=headers)
    assert answer.status_code == 200
    (headline,) = answer.json()  # the draft has no figures
    assert headline["journey_id"] == listed["onboarding"]["id"]
    assert (headline["entered"], headline["active"], headline["converted"]) == (6, 4, 1)
    assert headline["conversion_rate"] == pytest.approx(1 / 6)
    with open_engine(ctx.store, ctx.workspace_id) as engine:
        expected = kpis.journey_kpis(engine, journey_id=headline["journey_id"], now=ctx.clock.now())
    # six instances are too few for a forecast: the headline says why instead of a number
    assert expected.success_probability is None and expected.forecast_note
    assert headline["success_probability"] is None
    assert headline["forecast_note"] == expected.forecast_note


def test_a_journey_report_has_node_figures_exits_time_series_and_the_split(
    client: TestClient, ctx: Context, onboarding: str
) -> None:
    answer = client.get("/api/analytics/journeys/onboarding/report", headers=token(ctx, Scope.read))
    assert answer.status_code == 200
    report = answer.json()
    assert report["summary"]["entered"] == 6 and report["summary"]["converted"] == 1
    nodes = {n["node_id"]: n for n in report["nodes"]}
    assert nodes["ab"]["reached"] == 6
    assert nodes.get("tips", {"reached": 0})["reached"] == 0
    variants = [("short", 1.0), ("long", 1.0)]
    short = sum(assign_variant(p, "onboarding", "ab", variants) == "short" for p in PEOPLE[2:])
    waiting = (nodes["wait_short"]["waiting"], nodes["wait_long"]["waiting"])
    assert waiting == (short, 4 - short)
    assert report["summary"]["exited_by_reason"] == [
        {"reason": "exit criterion: Unsubscribed", "count": 1}
    ]
    assert report["interval"] == "day"
    assert [p["entered"] for p in report["timeseries"]] == [3, 3]
    (split,) = report["experiments"]
    assert split["split_node"] == "ab"
    exposed = sum(assign_variant(p, "onboarding", "ab", variants) == "short" for p in PEOPLE)
    assert {a["arm"]: a["exposed"] for a in split["arms"]} == {
        "short": exposed,
        "long": 6 - exposed,
    }
    # six people in the split: far below any minimum sample, so no decision yet
    assert split["decision"]["status"] == "collecting"


def test_a_report_for_a_draft_or_an_unknown_journey_is_refused(
    client: TestClient, ctx: Context
) -> None:
    with ctx.store.begin() as conn:
        journeys.save_draft(
            conn,
            workspace_id=ctx.workspace_id,
            document=ONBOARDING,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    headers = token(ctx, Scope.read)
    draft = client.get("/api/analytics/journeys/onboarding/report", headers=headers)
    assert draft.status_code == 422 and draft.json()["field"] == "journey_id"
    missing = client.get("/api/analytics/journeys/nope/report", headers=headers)
    assert missing.status_code == 404


def test_the_definition_is_typed_and_the_latest_instances_come_newest_first(
    client: TestClient, ctx: Context, onboarding: str
) -> None:
    headers = token(ctx, Scope.read)
    definition = client.get("/api/journeys/onboarding/definition", headers=headers).json()
    assert definition["start"] == "ab"
    assert [n["type"] for n in definition["nodes"]] == ["split", "wait", "wait", "send"]
    assert definition["nodes"][3]["channel"] == "email"
    latest = client.get(
        "/api/journeys/onboarding/latest-instances", params={"limit": 4}, headers=headers
    ).json()
    assert len(latest) == 4
    entered = [i["entered_at"] for i in latest]
    assert entered == sorted(entered, reverse=True)
    assert {i["profile_id"] for i in latest} <= set(PEOPLE)
    assert client.get("/api/journeys/nope/definition", headers=headers).status_code == 404


def test_a_branch_keeps_its_else_in_the_typed_definition(client: TestClient, ctx: Context) -> None:
    publish(
        ctx,
        {
            "key": "vip",
            "name": "VIP",
            "entry": {"type": "manual"},
            "start": "b",
            "nodes": [
                {
                    "id": "b",
                    "type": "branch",
                    "cases": [
                        {"when": {"trait": "tier", "op": "eq", "value": "gold"}, "next": "x"}
                    ],
                    "else": "x",
                },
                {"id": "x", "type": "exit"},
            ],
        },
    )
    definition = client.get("/api/journeys/vip/definition", headers=token(ctx, Scope.read)).json()
    assert definition["nodes"][0]["else"] == "x"
    assert definition["nodes"][0]["cases"][0]["when"] == {
        "trait": "tier",
        "op": "eq",
        "value": "gold",
    }


@pytest.fixture
def purchase_map(ctx: Context, clock: VirtualClock) -> str:
    """The test map with ten researchers, six checkouts and three orders in the last days."""
    with ctx.store.begin() as conn:
        maps.save_map(
            conn,
            workspace_id=ctx.workspace_id,
            document=JourneyMapDocument.model_validate(
                {**MAP, "stages": [{**MAP["stages"][0], "touchpoints": [
                    {**MAP["stages"][0]["touchpoints"][0], "owner": "E-commerce"}]},
                    *MAP["stages"][1:]]}
            ),
            now=clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )  # fmt: skip
    log = EventLog(ctx)
    t = clock.now() - timedelta(days=5)
    for i in range(10):
        log.add(f"p{i}", "Product Viewed", t + timedelta(hours=i))
    for i in range(6):
        log.add(f"p{i}", "Checkout Started", t + timedelta(days=1, hours=i))
    for i in range(3):
        log.add(f"p{i}", "Order Completed", t + timedelta(days=2, hours=i), revenue=60)
    # one buyer answers the delivery survey: the last stage is measured
    log.add("p0", "Survey Answered", t + timedelta(days=3), survey="delivery", score=5)
    log.commit()
    return str(MAP["key"])


def test_a_map_report_measures_the_stages_and_ranks_the_insights(
    client: TestClient, ctx: Context, purchase_map: str
) -> None:
    answer = client.get(f"/api/maps/{purchase_map}/report", headers=token(ctx, Scope.read))
    assert answer.status_code == 200
    report = answer.json()
    today = ctx.clock.now().date()
    assert report["last_day"] == today.isoformat()
    assert report["first_day"] == (today - timedelta(days=89)).isoformat()
    customers = {s["stage"]: s["customers"] for s in report["measurement"]["stages"]}
    assert customers["research"] == 10 and customers["purchase"] == 6
    # value per customer 180 / 10 = 18; priority = impact / effort; one of the six buyers
    # reaches the survey: PayPal 6 x 5/6 x 18 x 2/5 = 36 / 1, search 10 x 0.4 x 18 x 4/5 =
    # 57.6 / 2, card payment 6 x 5/6 x 18 x 5/5 = 90 / 4
    titles = [i["title"] for i in report["insights"]]
    assert titles.index("Offer PayPal") < titles.index("Search is slow")
    assert titles.index("Search is slow") < titles.index("Card payment fails")
    slow = next(i for i in report["insights"] if i["title"] == "Search is slow")
    assert slow["quadrant"] == "quick_win" and slow["touchpoint"] == "product-page"


def test_a_map_is_measured_over_the_chosen_days_and_a_bad_day_is_named(
    client: TestClient, ctx: Context, purchase_map: str
) -> None:
    headers = token(ctx, Scope.read)
    before = (ctx.clock.now().date() - timedelta(days=6)).isoformat()
    earlier = client.get(
        f"/api/maps/{purchase_map}/report", params={"until": before}, headers=headers
    ).json()
    assert earlier["last_day"] == before
    assert {s["stage"]: s["customers"] for s in earlier["measurement"]["stages"]}["research"] == 0
    bad = client.get(
        f"/api/maps/{purchase_map}/report", params={"since": "2026-13-01"}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["field"] == "since"
    assert bad.headers["content-type"] == "application/problem+json"
    backwards = client.get(
        f"/api/maps/{purchase_map}/report",
        params={"since": "2026-01-05", "until": "2026-01-01"},
        headers=headers,
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "since"


def test_an_unknown_map_is_not_found(client: TestClient, ctx: Context) -> None:
    answer = client.get("/api/maps/nope/report", headers=token(ctx, Scope.read))
    assert answer.status_code == 404
