"""The journeys HTTP API: documents in JSON and YAML, 422 with every problem, lifecycle,
enrolment, instances, node counts and a profile's history."""

from __future__ import annotations

import yaml
from fastapi.testclient import TestClient

from partitur.context import Context
from tests.integration.journeys.test_shell import CART, profile
from tests.support.journeys import add_templates

WELCOME = {
    "key": "welcome",
    "name": "Welcome",
    "entry": {"type": "manual"},
    "start": "hello",
    "nodes": [
        {"id": "hello", "type": "send", "channel": "email", "template": "welcome", "next": "w"},
        {"id": "w", "type": "wait", "duration": "P2D", "next": "tips"},
        {"id": "tips", "type": "send", "channel": "email", "template": "tips"},
    ],
}


def test_create_publish_enrol_and_inspect(
    client: TestClient, admin_headers: dict[str, str], ctx: Context
) -> None:
    with ctx.store.begin() as conn:
        add_templates(
            conn,
            workspace_id=ctx.workspace_id,
            refs={("email", "welcome"), ("email", "tips")},
            now=ctx.clock.now(),
        )
    body = yaml.safe_dump(WELCOME)
    created = client.post(
        "/api/journeys", content=body, headers={**admin_headers, "content-type": "application/yaml"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    published = client.post("/api/journeys/welcome/publish", headers=admin_headers)
    assert published.status_code == 201 and published.json()["version"] == 1
    profile(ctx, "p1")
    enrolled = client.post(
        "/api/journeys/welcome/enrolments", json={"profile_ids": ["p1"]}, headers=admin_headers
    )
    assert enrolled.json()["enrolled"] == 1
    instances = client.get("/api/journeys/welcome/instances", headers=admin_headers).json()
    assert [(i["profile_id"], i["current_node"]) for i in instances] == [("p1", "w")]
    nodes = client.get("/api/journeys/welcome/nodes", headers=admin_headers).json()
    assert {n["node_id"]: (n["entered"], n["active_here"]) for n in nodes} == {
        "hello": (1, 0),
        "w": (1, 1),
        "tips": (0, 0),
    }
    history = client.get("/api/journeys/by-profile/p1", headers=admin_headers).json()
    assert [t["node_id"] for t in history[0]["history"]] == ["hello", "w"]
    paused = client.post("/api/journeys/welcome/pause", headers=admin_headers)
    assert paused.json()["status"] == "paused"
    assert client.post("/api/journeys/welcome/pause", headers=admin_headers).status_code == 409
    schema = client.get("/api/journeys/schema", headers=admin_headers).json()
    assert "nodes" in schema["properties"]


def test_invalid_documents_get_422_with_every_problem(
    client: TestClient, admin_headers: dict[str, str], ctx: Context
) -> None:
    with ctx.store.begin() as conn:
        add_templates(
            conn,
            workspace_id=ctx.workspace_id,
            refs={("email", "cart"), ("sms", "cart-sms")},
            now=ctx.clock.now(),
        )
    broken = {
        **CART,
        "nodes": [
            *CART["nodes"],
            {"id": "orphan", "type": "send", "channel": "fax", "template": "x"},
        ],
    }
    answer = client.post("/api/journeys/validate", json=broken, headers=admin_headers)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problems = answer.json()["problems"]
    assert {p["node"] for p in problems} == {"orphan"}
    messages = " | ".join(p["message"] for p in problems)
    assert "unreachable" in messages and "unknown channel 'fax'" in messages
    ok = client.post("/api/journeys/validate", json=CART, headers=admin_headers)
    assert ok.json() == {"valid": True, "problems": []}
    bad_yaml = client.post(
        "/api/journeys",
        content=b"key: [",
        headers={**admin_headers, "content-type": "application/yaml"},
    )
    assert bad_yaml.status_code == 400


def test_backfill_replays_the_history_once_with_problem_answers_for_bad_input(
    client: TestClient, admin_headers: dict[str, str], ctx: Context
) -> None:
    from datetime import timedelta

    from tests.integration.journeys.test_shell import event, publish

    profile(ctx, "p1")
    since = ctx.clock.now() - timedelta(hours=1)
    event(ctx, "p1", "Cart Abandoned")
    ctx.clock.advance(timedelta(hours=2))
    publish(ctx, CART)
    url = "/api/journeys/cart/backfill"
    naive = client.post(url, json={"since": "2026-01-01T00:00:00"}, headers=admin_headers)
    assert naive.status_code == 422
    assert naive.headers["content-type"].startswith("application/problem+json")
    assert "since" in naive.text
    done = client.post(url, json={"since": since.isoformat()}, headers=admin_headers)
    assert done.status_code == 200, done.text
    assert done.json()["events"] == 1 and done.json()["instances"]["cart"] == {"active": 1}
    nodes = client.get("/api/journeys/cart/nodes", headers=admin_headers).json()
    assert {n["node_id"]: n["entered"] for n in nodes}["email"] == 1  # the hour passed
    again = client.post(url, json={"since": since.isoformat()}, headers=admin_headers)
    assert again.status_code == 409
    assert client.post("/api/journeys/nope/backfill", json={"since": since.isoformat()},
                       headers=admin_headers).status_code == 404  # fmt: skip
