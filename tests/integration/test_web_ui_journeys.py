"""The Journeys and Journey maps pages of the web UI, with real journeys, instances and maps,
on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from partitur.analytics import kpis
from partitur.analytics.engine import open_engine
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.journey_maps import service as maps
from partitur.journey_maps.contracts import JourneyMapDocument
from partitur.journeys import service as journeys
from partitur.journeys.runtime import assign_variant
from partitur.workspaces.contracts import Scope
from tests.integration.journeys.test_shell import event, profile, publish, pump
from tests.integration.test_web_ui import _login, _token
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


def _cells(page: str, row: str) -> dict[str, str]:
    """The ``data-kpi`` cells of the table row marked ``row`` (e.g. 'data-node="hello"')."""
    start = page.index(row)
    html = page[start : page.index("</tr>", start)]
    return dict(re.findall(r'data-kpi="([a-z_]+)">([^<]*)<', html))


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


def test_the_journeys_page_lists_journeys_with_their_kpi_headline(
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
    _login(client, _token(ctx, Scope.read))
    answer = client.get("/ui/journeys")
    assert answer.status_code == 200
    page = answer.text
    assert "<title>Journeys · partitur</title>" in page
    assert 'href="/ui/journeys" class="active"' in page  # the sidebar entry
    assert "Onboarding nudges" in page and 'href="/ui/journeys/onboarding"' in page
    row = _cells(page, 'data-journey="onboarding"')
    assert row["entered"] == "6" and row["active"] == "4" and row["converted"] == "1"
    assert row["conversion_rate"] == "16.7%"
    with ctx.store.read() as conn:
        journey_id = journeys.get_journey(conn, workspace_id=ctx.workspace_id, key=onboarding).id
    with open_engine(ctx.store, ctx.workspace_id) as engine:
        expected = kpis.journey_kpis(engine, journey_id=journey_id, now=ctx.clock.now())
    assert expected.success_probability is not None
    assert row["success_probability"] == f"{expected.success_probability * 100:.1f}%"
    draft = page[page.index('data-journey="winback"') :]
    assert "Win-back draft" in draft and "not published yet" in draft.split("</tr>")[0]


def test_a_journey_page_shows_the_flow_node_kpis_exits_chart_split_and_instances(
    client: TestClient, ctx: Context, onboarding: str
) -> None:
    _login(client, _token(ctx, Scope.read))
    answer = client.get("/ui/journeys/onboarding")
    assert answer.status_code == 200
    page = answer.text
    assert "Onboarding nudges" in page and "manual (API / CLI enrolment)" in page
    assert re.search(r'data-kpi="entered">6<', page)
    assert re.search(r'data-kpi="converted">1<', page)
    # the flow, breadth-first from the start, with each node's edges
    order = [page.index(f'data-node="{n}"') for n in ("ab", "wait_short", "wait_long", "tips")]
    assert order == sorted(order)
    ab = page[page.index('data-node="ab"') :].split("</tr>")[0]
    assert "short 50%, long 50%" in ab and 'href="#node-wait_long"' in ab
    assert _cells(page, 'data-node="ab"')["reached"] == "6"
    assert _cells(page, 'data-node="tips"')["reached"] == "0"
    variants = [("short", 1.0), ("long", 1.0)]
    short = sum(assign_variant(p, "onboarding", "ab", variants) == "short" for p in PEOPLE[2:])
    waiting = (
        _cells(page, 'data-node="wait_short"')["waiting"],
        _cells(page, 'data-node="wait_long"')["waiting"],
    )
    assert waiting == (str(short), str(4 - short))
    exits = page.split("Exit reasons")[1].split("</section>")[0]
    assert "exit criterion: Unsubscribed" in exits
    chart = page.split("Over time")[1].split("</section>")[0]
    assert '<svg class="chart"' in chart and "<?xml" not in page
    assert "Split experiments" in page
    # the latest instances link to Profile 360
    for pid in PEOPLE:
        assert f'href="/ui/profiles/{pid}"' in page
    profile_page = client.get("/ui/profiles/prf_ada")
    assert profile_page.status_code == 200 and "prf_ada@example.com" in profile_page.text


def test_an_unknown_journey_gets_the_not_found_page(client: TestClient, ctx: Context) -> None:
    _login(client, _token(ctx, Scope.read))
    answer = client.get("/ui/journeys/nope")
    assert answer.status_code == 404
    assert "There is no journey nope." in answer.text
    assert 'href="/ui/journeys">Back to journeys' in answer.text


def test_without_journeys_or_maps_the_pages_say_how_to_make_one(
    client: TestClient, ctx: Context
) -> None:
    _login(client, _token(ctx, Scope.read))
    assert "No journeys yet — publish one with" in client.get("/ui/journeys").text
    assert "No journey maps yet" in client.get("/ui/maps").text


@pytest.mark.parametrize("path", ["/ui/journeys", "/ui/journeys/onboarding", "/ui/maps",
                                  "/ui/maps/online-purchase"])  # fmt: skip
def test_the_pages_send_a_visitor_without_a_session_to_the_login_page(
    client: TestClient, path: str
) -> None:
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login?next=%2Fui%2F")


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
    # one delivery survey: the first-use stage is measured (a stage without events is not)
    log.add("p0", "Survey Answered", t + timedelta(days=4), survey="delivery", score=4)
    log.commit()
    return str(MAP["key"])


def test_the_maps_page_lists_maps_with_stages_touchpoints_and_owner(
    client: TestClient, ctx: Context, purchase_map: str
) -> None:
    _login(client, _token(ctx, Scope.read))
    page = client.get("/ui/maps").text
    row = page[page.index(f'data-map="{purchase_map}"') :].split("</tr>")[0]
    assert "Online purchase" in row and "CX team" in row
    assert "Research" in row and "Purchase" in row and "First use" in row  # taxonomy names
    assert 'data-count="touchpoints">4<' in row


def test_a_map_page_shows_the_rendered_map_and_ranked_insights_with_owners(
    client: TestClient, ctx: Context, purchase_map: str
) -> None:
    _login(client, _token(ctx, Scope.read))
    answer = client.get(f"/ui/maps/{purchase_map}")
    assert answer.status_code == 200
    page = answer.text
    assert "Online purchase" in page
    picture = page.split('class="chart-wrap map-picture"')[1].split("</section>")[0]
    assert picture.lstrip(">").lstrip().startswith('<svg class="chart"')
    # stages with their measured customers: 10 researched, 6 started checkout
    assert re.search(r'data-stage="research".*?data-kpi="customers">10<', page, re.S)
    assert re.search(r'data-stage="purchase".*?data-kpi="customers">6<', page, re.S)
    ranked = page.split("Pain points and opportunities")[1].split("</section>")[0]
    # value per customer 180 / 10 = 18; priority = impact / effort (1 of the 6 at purchase
    # answered the delivery survey: drop-off 5/6):
    # PayPal 6 x 5/6 x 18 x 2/5 = 36 / 1, search 10 x 0.4 x 18 x 4/5 = 57.6 / 2,
    # card payment 6 x 5/6 x 18 x 5/5 = 90 / 4
    titles = [ranked.index(t) for t in ("Offer PayPal", "Search is slow", "Card payment fails")]
    assert titles == sorted(titles)  # highest priority first
    slow = ranked[ranked.index("Search is slow") :].split("</tr>")[0]
    assert "E-commerce" in slow and "quick win" in slow  # the touchpoint's owner
    paypal = ranked[ranked.index("Offer PayPal") :].split("</tr>")[0]
    assert "CX team" in paypal  # no touchpoint: the map's owner


def test_an_unknown_map_gets_the_not_found_page(client: TestClient, ctx: Context) -> None:
    _login(client, _token(ctx, Scope.read))
    answer = client.get("/ui/maps/nope")
    assert answer.status_code == 404
    assert "There is no journey map nope." in answer.text


def test_a_map_is_measured_over_the_chosen_days_and_a_bad_day_is_named(
    client: TestClient, ctx: Context, purchase_map: str
) -> None:
    _login(client, _token(ctx, Scope.read))
    today = ctx.clock.now().date()
    page = client.get(f"/ui/maps/{purchase_map}").text
    assert f'name="until" value="{today.isoformat()}"' in page
    assert f'name="since" value="{(today - timedelta(days=89)).isoformat()}"' in page
    before = (today - timedelta(days=6)).isoformat()
    earlier = client.get(f"/ui/maps/{purchase_map}", params={"until": before}).text
    # no event of the stage in that period: "not measured", not 0 customers
    assert re.search(r'data-stage="research".*?data-kpi="not_measured"', earlier, re.S)
    bad = client.get(f"/ui/maps/{purchase_map}", params={"since": "2026-13-01"})
    assert bad.status_code == 400
    assert "since is a day as YYYY-MM-DD; showing the last 90 days instead." in bad.text
    assert re.search(r'data-stage="research".*?data-kpi="customers">10<', bad.text, re.S)
