"""What the Studio's journey canvas asks of the API, on SQLite and PostgreSQL: a new journey
that never overwrites another one, problems that name their node, field and code, a document
simulated over stored history before it is saved, the file the CLI loads (YAML or JSON, with
the canvas's positions, which the engine ignores) and the live per-node counts with the
messages each node sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml
from fastapi.testclient import TestClient

from partitur.channels.dispatch import Dispatcher
from partitur.cli.journeys import read_document
from partitur.context import Context
from partitur.core.clock import VirtualClock
from partitur.journeys.definition import parse_definition
from tests.integration.journeys.test_shell import CART, event, profile, publish, pump


def with_layout(document: dict[str, Any]) -> dict[str, Any]:
    positions = {
        n["id"]: {"x": 300 * i, "y": 40 * (i % 2)} for i, n in enumerate(document["nodes"])
    }
    return {**document, "layout": {"nodes": positions}}


def test_a_journey_started_on_the_canvas_never_replaces_another_ones_draft(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    first = client.post("/api/journeys?create=true", json=CART, headers=admin_headers)
    assert first.status_code == 201, first.text
    again = client.post(
        "/api/journeys?create=true", json={**CART, "name": "Another"}, headers=admin_headers
    )
    assert again.status_code == 409
    assert again.json()["field"] == "key"
    assert client.get("/api/journeys/cart", headers=admin_headers).json()["name"] == CART["name"]
    replaced = client.post("/api/journeys", json={**CART, "name": "Renamed"}, headers=admin_headers)
    assert replaced.status_code == 201 and replaced.json()["name"] == "Renamed"


def test_problems_name_the_node_the_field_and_a_code_to_word_them_by(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    shape = {
        **CART,
        "nodes": [
            {**CART["nodes"][0], "timeout": None},
            *CART["nodes"][1:3],
            {"id": "later", "type": "wait"},
            *CART["nodes"][4:],
        ],
    }
    answer = client.post("/api/journeys/validate", json=shape, headers=admin_headers)
    assert answer.status_code == 422
    found = {(p["node"], p.get("field"), p["code"]) for p in answer.json()["problems"]}
    assert ("wait_order", "timeout", "string_type") in found
    assert ("later", None, "wait_kind_missing") in found
    branch = {
        **CART,
        "nodes": [
            *CART["nodes"][:5],
            {"id": "sms", "type": "branch", "cases": [
                {"when": {"trait": "cart_value", "op": "gt", "value": 100}, "next": "gone"}]},
        ],
    }  # fmt: skip
    answer = client.post("/api/journeys/validate", json=branch, headers=admin_headers)
    problems = [p for p in answer.json()["problems"] if p["node"] == "sms"]
    assert {(p["code"], p.get("field")) for p in problems} == {
        ("unknown_target", "cases[0]"),
        ("branch_without_else", "else"),
    }
    (dangling,) = [p for p in problems if p["code"] == "unknown_target"]
    assert dangling["params"] == {"edge": "cases[0]", "target": "gone"}


def test_a_document_is_simulated_over_the_stored_history_before_it_is_saved(
    client: TestClient, admin_headers: dict[str, str], ctx: Context, clock: VirtualClock
) -> None:
    for pid in ("p1", "p2", "p3"):
        profile(ctx, pid)
    event(ctx, "p1", "Cart Abandoned")
    event(ctx, "p2", "Cart Abandoned")
    clock.advance(timedelta(minutes=20))
    event(ctx, "p2", "Checkout Started")
    event(ctx, "p3", "Page Viewed")  # not a journey's event: not replayed
    clock.advance(timedelta(days=3))
    answer = client.post(
        "/api/journeys/simulate?days=7&samples=2",
        content=yaml.safe_dump(CART),
        headers={**admin_headers, "content-type": "application/yaml"},
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["profiles"], result["audience"], result["entered"]) == (2, 2, 2)
    assert result["node_counts"] == {
        "wait_order": 2, "thanks": 1, "email": 1, "later": 1, "tag": 1, "sms": 1,
    }  # fmt: skip
    assert result["sends"] == {"email:cart": 1, "sms:cart-sms": 1}
    assert result["outcomes"] == {"completed": 2}
    assert [s["node"] for s in result["samples"]["p1"]] == [
        "wait_order", "email", "later", "tag", "sms", None,
    ]  # fmt: skip
    assert client.get("/api/journeys/cart", headers=admin_headers).status_code == 404
    too_long = client.post("/api/journeys/simulate?days=400", json=CART, headers=admin_headers)
    assert too_long.status_code == 422
    broken = client.post(
        "/api/journeys/simulate", json={**CART, "start": None}, headers=admin_headers
    )
    assert broken.status_code == 422 and broken.json()["problems"][0]["field"] == "start"


def test_the_exported_file_loads_back_into_the_same_document_with_its_positions(
    client: TestClient, admin_headers: dict[str, str], tmp_path: Any
) -> None:
    document = with_layout(
        {**CART, "description": "Nach dem Warenkorb: “Erinnerung”", "nodes": [
            *CART["nodes"][:3],
            {"id": "later", "type": "wait", "duration": "P1D", "local_time": "10:30",
             "next": "tag"},
            *CART["nodes"][4:],
        ]}
    )  # fmt: skip
    saved = client.post("/api/journeys", json=document, headers=admin_headers)
    assert saved.status_code == 201
    stored = client.get("/api/journeys/cart", headers=admin_headers).json()["draft"]
    assert stored["layout"]["nodes"]["sms"] == {"x": 1500, "y": 40}
    for fmt in ("yaml", "json"):
        answer = client.post(
            f"/api/journeys/export?format={fmt}", json=stored, headers=admin_headers
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith(f"application/{fmt}")
        path = tmp_path / f"cart.{fmt}"
        path.write_bytes(answer.content)
        assert read_document(path) == stored  # what `partitur journeys save FILE` reads
    text = (tmp_path / "cart.yaml").read_text(encoding="utf-8")
    assert "local_time: '10:30'" in text  # quoted: YAML 1.1 would read 10:30 as 630
    assert "“Erinnerung”" in text
    imported = client.post(
        "/api/journeys/export?format=json",
        content=text.encode(),
        headers={**admin_headers, "content-type": "application/yaml"},
    )
    assert imported.json() == stored
    # the engine ignores where nodes are drawn
    moved = parse_definition({**stored, "layout": {"nodes": {"email": {"x": 5, "y": 5}}}})
    assert moved.model_dump(exclude={"layout"}) == parse_definition(stored).model_dump(
        exclude={"layout"}
    )
    refused = client.post(
        "/api/journeys/export", json={**stored, "layout": {"nodes": {"sms": {"x": "left"}}}},
        headers=admin_headers,
    )  # fmt: skip
    assert refused.status_code == 422


def test_the_live_counts_show_each_nodes_instances_and_messages(
    client: TestClient, admin_headers: dict[str, str], ctx: Context, clock: VirtualClock
) -> None:
    publish(ctx, CART)
    profile(ctx, "p1", traits={"email": "p1@example.com"})
    profile(ctx, "p2")
    event(ctx, "p1", "Cart Abandoned")
    event(ctx, "p2", "Cart Abandoned")
    event(ctx, "p2", "Unsubscribed")
    pump(ctx)
    clock.advance(timedelta(hours=1, minutes=1))
    pump(ctx)

    def counts() -> dict[str, dict[str, int]]:
        answer = client.get("/api/journeys/cart/nodes", headers=admin_headers)
        return {n.pop("node_id"): n for n in answer.json()}

    live = counts()
    assert (live["wait_order"]["entered"], live["wait_order"]["exited_here"]) == (2, 1)
    assert (live["later"]["entered"], live["later"]["active_here"]) == (1, 1)
    assert live["email"]["pending"] == 1 and live["email"]["sent"] == 0
    Dispatcher(ctx).run_once(clock.now())
    after = counts()["email"]
    assert after["pending"] == 0
    assert after["sent"] + after["failed"] + after["not_sent"] == 1


def test_the_event_picker_offers_the_names_received_most_often_first(
    client: TestClient, admin_headers: dict[str, str], ctx: Context, clock: VirtualClock
) -> None:
    for pid in ("p1", "p2"):
        profile(ctx, pid)
        event(ctx, pid, "Product Added", price=10)
    event(ctx, "p1", "Product Added", price=12)
    event(ctx, "p1", "Order Completed")
    clock.advance(timedelta(days=10))
    event(ctx, "p2", "Order Completed")
    answer = client.get("/api/analytics/events/names?days=30", headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert [(n["name"], n["events"], n["profiles"]) for n in answer.json()] == [
        ("Product Added", 3, 2),
        ("Order Completed", 2, 2),
    ]
    recent = client.get("/api/analytics/events/names?days=5", headers=admin_headers).json()
    assert [n["name"] for n in recent] == ["Order Completed"]
    assert (
        client.get("/api/analytics/events/names?days=0", headers=admin_headers).status_code == 422
    )
