from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.errors import Conflict, InvalidDocument
from partitur.journey_maps import io, service
from partitur.journey_maps.contracts import JourneyMapDocument, Taxonomy
from tests.conftest import START
from tests.journey_maps.conftest import MAP, EventLog

SINCE, UNTIL = START - timedelta(days=7), START + timedelta(days=30)


def save(ctx: Context, document: dict[str, Any], **kw: Any) -> Any:
    with ctx.store.begin() as conn:
        return service.save_map(
            conn,
            workspace_id=ctx.workspace_id,
            document=JourneyMapDocument.model_validate(document),
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
            **kw,
        )


def test_default_taxonomy_has_the_nine_standard_stages(ctx: Context) -> None:
    with ctx.store.read() as conn:
        stages = service.get_taxonomy(conn, workspace_id=ctx.workspace_id).stages
    assert [s.key for s in stages] == [
        "awareness",
        "first_contact",
        "research",
        "decision",
        "purchase",
        "first_use",
        "repeated_use",
        "end_of_use",
        "end_of_relationship",
    ]


def test_saving_again_makes_a_new_version_and_keeps_history(ctx: Context) -> None:
    first = save(ctx, MAP)
    changed = {**MAP, "description": "the web shop"}
    second = save(ctx, changed, note="describe", expected_version=1)
    assert (first.version, second.version) == (1, 2)
    with ctx.store.read() as conn:
        versions = service.history(conn, workspace_id=ctx.workspace_id, key=MAP["key"])
        old = service.get_map(conn, workspace_id=ctx.workspace_id, key=MAP["key"], version=1)
    assert [(v.version, v.note) for v in versions] == [(1, ""), (2, "describe")]
    assert old.document.description == ""
    with pytest.raises(Conflict):
        save(ctx, {**MAP, "description": "stale edit"}, expected_version=1)


def test_stage_outside_the_taxonomy_and_unknown_parent_are_reported_together(
    ctx: Context,
) -> None:
    bad = {**MAP, "key": "bad", "parent": "nope", "stages": [{"key": "moon_landing"}]}
    with pytest.raises(InvalidDocument) as caught:
        save(ctx, bad)
    paths = {p["path"] for p in caught.value.problems}
    assert paths == {"stages[0].key", "parent"}


def test_taxonomy_cannot_drop_a_stage_in_use(ctx: Context) -> None:
    save(ctx, MAP)
    with ctx.store.begin() as conn, pytest.raises(Conflict):
        service.set_taxonomy(
            conn,
            workspace_id=ctx.workspace_id,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "t"),
            taxonomy=Taxonomy(stages=[{"key": "research", "name": "Research"}]),
        )  # type: ignore[list-item]


def test_sub_journeys_and_variants_are_listed_by_parent(ctx: Context) -> None:
    save(ctx, MAP)
    save(
        ctx,
        {
            "key": "checkout-de",
            "name": "Checkout DE",
            "parent": MAP["key"],
            "market": "DE",
            "state": "to_be",
        },
    )
    with ctx.store.read() as conn:
        children = service.list_maps(conn, workspace_id=ctx.workspace_id, parent_key=MAP["key"])
        to_be = service.list_maps(conn, workspace_id=ctx.workspace_id, state="to_be")
    assert [m.document.key for m in children] == ["checkout-de"]
    assert [m.document.key for m in to_be] == ["checkout-de"]


def test_measured_kpis_per_stage_and_touchpoint(ctx: Context, purchase_history: EventLog) -> None:
    save(ctx, MAP)
    m = service.measure(
        ctx.store,
        workspace_id=ctx.workspace_id,
        key=MAP["key"],
        since=SINCE,
        until=UNTIL,
        with_sentiment=False,
    )
    stages = {s.stage: s for s in m.stages}
    touch = {t.touchpoint: t for t in m.touchpoints}
    assert (touch["product-page"].events, touch["product-page"].customers) == (10, 10)
    assert (touch["checkout"].customers, touch["order"].customers) == (6, 3)
    assert stages["purchase"].customers == 6
    # research -> purchase: 5 of 10 touched purchase after research (p9 only before)
    assert stages["research"].conversion_to_next == pytest.approx(0.5)
    assert stages["research"].drop_off == pytest.approx(0.5)
    # purchase -> first use: p0 and p1 answered the delivery survey
    assert stages["purchase"].conversion_to_next == pytest.approx(2 / 6)
    assert stages["first_use"].conversion_to_next is None
    # the top-2-box share: CSAT 5 is satisfied, 2 is not; the returns survey does not count
    assert touch["survey"].satisfaction == pytest.approx(50.0)
    assert touch["survey"].satisfaction_answers == 2
    assert stages["first_use"].measured_emotion == pytest.approx(0.0)
    assert stages["first_use"].designed_emotion == 2


def test_insights_are_ranked_by_impact_against_effort(
    ctx: Context, purchase_history: EventLog
) -> None:
    save(ctx, MAP)
    ranked = service.ranked_insights(
        ctx.store, workspace_id=ctx.workspace_id, key=MAP["key"], since=SINCE, until=UNTIL
    )
    # value per customer: revenue 180 over 10 active customers
    by_id = {r.id: r for r in ranked}
    assert by_id["slow-search"].impact == pytest.approx(10 * 0.5 * 18 * 4 / 5)
    assert by_id["payment-fails"].impact == pytest.approx(6 * (4 / 6) * 18 * 5 / 5)
    assert by_id["paypal"].impact == pytest.approx(6 * (4 / 6) * 18 * 2 / 5)
    assert [r.id for r in ranked] == ["slow-search", "paypal", "payment-fails"]
    assert by_id["slow-search"].quadrant == "quick_win"
    assert by_id["payment-fails"].quadrant == "major_project"
    assert by_id["paypal"].quadrant == "fill_in"


def test_pain_point_kpi_before_and_after_its_linked_journey(ctx: Context, log: EventLog) -> None:
    linked = START + timedelta(days=10)
    for i in range(4):  # before: 1 of 4 researchers checks out
        log.add(f"b{i}", "Product Viewed", START + timedelta(hours=i))
    log.add("b0", "Checkout Started", START + timedelta(days=1))
    for i in range(4):  # after: 3 of 4
        log.add(f"a{i}", "Product Viewed", linked + timedelta(hours=i + 1))
        if i < 3:
            log.add(f"a{i}", "Checkout Started", linked + timedelta(days=1))
    log.commit()
    doc = {**MAP}
    doc["stages"] = [dict(s) for s in MAP["stages"]]
    doc["stages"][0] = {
        **doc["stages"][0],
        "pain_points": [
            {
                "id": "slow-search",
                "title": "Search is slow",
                "linked_journey": "search-help",
                "linked_at": linked.isoformat(),
            }
        ],
    }
    save(ctx, doc)
    result = service.insight_before_after(
        ctx.store,
        workspace_id=ctx.workspace_id,
        key=MAP["key"],
        insight_id="slow-search",
        since=SINCE,
        until=UNTIL,
    )
    assert (result.before, result.after) == (pytest.approx(0.25), pytest.approx(0.75))
    assert result.change == pytest.approx(0.5)
    assert result.linked_journey == "search-help"


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_import_export_round_trips_without_loss(fmt: str) -> None:
    doc = JourneyMapDocument.model_validate(
        {
            **MAP,
            "persona": "Busy parent",
            "market": "DE",
            "stages": [
                *MAP["stages"],
                {
                    "key": "repeated_use",
                    "jobs_to_be_done": ['Reorder, with "quotes", in 1 click'],
                    "interactions": ["App login"],
                    "fears": ["Wrong size"],
                    "abandonment_reasons": ["Shipping cost"],
                    "staff_knowledge": ["Return policy"],
                    "kpis": [
                        {"name": "Repeat rate", "target": 0.4, "unit": "%", "potential": "high"}
                    ],
                },
            ],
        }
    )
    text = {"json": io.dump_json, "yaml": io.dump_yaml, "csv": io.document_to_csv}[fmt](doc)
    assert io.load_text(text, fmt=fmt) == doc


def test_csv_import_reports_the_line_of_a_bad_row() -> None:
    text = io.document_to_csv(JourneyMapDocument.model_validate(MAP))
    broken = text + "gremlin,research,x,y" + "," * 19 + "\n"
    with pytest.raises(Exception, match=r"line \d+: unknown kind 'gremlin'"):
        io.load_text(broken, fmt="csv")


def test_api_map_lifecycle_pictures_and_problem_json(
    client: TestClient, admin_headers: dict[str, str], purchase_history: EventLog
) -> None:
    created = client.post("/api/maps", json=MAP, headers=admin_headers)
    assert created.status_code == 201, created.text
    bad = client.post(
        "/api/maps", json={**MAP, "stages": [{"key": "Not A Key!"}]}, headers=admin_headers
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["field"].startswith("stages")
    params = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
    measured = client.get(
        f"/api/maps/{MAP['key']}/measure", params=params, headers=admin_headers
    ).json()
    assert [s["customers"] for s in measured["stages"]] == [10, 6, 2]
    svg = client.get(
        f"/api/maps/{MAP['key']}/export", params={**params, "format": "svg"}, headers=admin_headers
    )
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"Online purchase" in svg.content and b"<svg" in svg.content
    png = client.get(
        f"/api/maps/{MAP['key']}/insights/matrix",
        params={**params, "format": "png"},
        headers=admin_headers,
    )
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    report = client.get(
        f"/api/maps/{MAP['key']}/export", params={**params, "format": "html"}, headers=admin_headers
    ).text
    assert "Prioritised insights" in report and "Search is slow" in report
    comment = client.post(
        f"/api/maps/{MAP['key']}/comments",
        json={"body": "Check with IT", "element_id": "checkout"},
        headers=admin_headers,
    )
    assert comment.status_code == 201
    unknown = client.post(
        f"/api/maps/{MAP['key']}/comments",
        json={"body": "?", "element_id": "nowhere"},
        headers=admin_headers,
    )
    assert unknown.status_code == 404 and unknown.json()["field"] == "element_id"
    assert client.get("/api/maps/nope", headers=admin_headers).status_code == 404


def test_cli_imports_measures_and_exports(tmp_path: Any, sqlite_url: str) -> None:
    import json
    import subprocess
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "partitur", "maps", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={
                "PARTITUR_DATABASE_URL": sqlite_url,
                "PATH": "",
                "HOME": str(tmp_path),
                "PYTHONPATH": ":".join(sys.path),
            },
        )

    source = tmp_path / "map.yaml"
    source.write_text(io.dump_yaml(JourneyMapDocument.model_validate(MAP)))
    assert cli("import", str(source)).returncode == 0
    listed = cli("list", "--json")
    assert [m["document"]["key"] for m in json.loads(listed.stdout)] == [MAP["key"]]
    out = tmp_path / "map.png"
    made = cli("export", MAP["key"], "--format", "png", "--output", str(out))
    assert made.returncode == 0, made.stderr
    assert out.read_bytes()[:4] == b"\x89PNG"
    missing = cli("import", str(tmp_path / "nope.json"))
    assert missing.returncode != 0 and "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_example_maps_validate_and_use_only_standard_stages() -> None:
    from pathlib import Path

    from partitur.journey_maps.contracts import DEFAULT_STAGES

    files = sorted(Path("examples/maps").glob("*.yaml"))
    assert len(files) >= 2
    standard = {s.key for s in DEFAULT_STAGES}
    for path in files:
        document = io.load_file(path)
        assert {s.key for s in document.stages} <= standard, path
        assert any(s.pain_points for s in document.stages), path


def test_boolean_property_filters_match_json_booleans(ctx: Context, log: EventLog) -> None:
    log.add("p1", "Order Delivered", START, late=True)
    log.add("p2", "Order Delivered", START, late=False)
    log.add("p3", "Order Delivered", START)
    log.commit()
    doc = {
        "key": "delivery",
        "name": "Delivery",
        "stages": [
            {
                "key": "first_use",
                "touchpoints": [
                    {
                        "id": "late",
                        "name": "Late",
                        "events": [
                            {
                                "event": "Order Delivered",
                                "where": [{"property": "late", "value": True}],
                            }
                        ],
                    },
                    {
                        "id": "on-time",
                        "name": "On time",
                        "events": [
                            {
                                "event": "Order Delivered",
                                "where": [{"property": "late", "op": "ne", "value": True}],
                            }
                        ],
                    },
                ],
            }
        ],
    }
    save(ctx, doc)
    m = service.measure(
        ctx.store,
        workspace_id=ctx.workspace_id,
        key="delivery",
        since=SINCE,
        until=UNTIL,
        with_sentiment=False,
    )
    assert {t.touchpoint: t.customers for t in m.touchpoints} == {"late": 1, "on-time": 2}


def test_touchpoint_texts_are_scored_for_sentiment(ctx: Context, log: EventLog) -> None:
    log.add("p1", "Ticket Created", START, text="Die Lieferung ist kaputt, ich bin sehr verärgert.")
    log.add("p2", "Ticket Created", START, text="Terrible service, still no refund. Awful.")
    log.commit()
    save(
        ctx,
        {
            "key": "support",
            "name": "Support",
            "stages": [
                {
                    "key": "first_contact",
                    "touchpoints": [
                        {
                            "id": "ticket",
                            "name": "Ticket",
                            "text_property": "text",
                            "events": [{"event": "Ticket Created"}],
                        }
                    ],
                }
            ],
        },
    )
    m = service.measure(
        ctx.store, workspace_id=ctx.workspace_id, key="support", since=SINCE, until=UNTIL
    )
    (ticket,) = m.touchpoints
    assert ticket.texts == 2
    assert ticket.sentiment is not None and ticket.sentiment < -0.3
    assert m.stages[0].measured_emotion is not None and m.stages[0].measured_emotion < 0
