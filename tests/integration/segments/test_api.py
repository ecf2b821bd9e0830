"""The segments HTTP API: CRUD with versions, size, paged members, preview, rebuild, problems."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from partitur.access import service as access
from partitur.access.contracts import Scope
from partitur.context import Context
from partitur.core.actions import Actor
from tests.support.segments import Population

PRO = {"key": "pro", "name": "Pro plan", "rule": {"trait": "plan", "value": "pro"}}


@pytest.fixture
def writer(ctx: Context) -> dict[str, str]:
    with ctx.store.begin() as conn:
        token = access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="w",
            scopes=[Scope.write],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        ).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def reader(ctx: Context) -> dict[str, str]:
    with ctx.store.begin() as conn:
        token = access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="r",
            scopes=[Scope.read],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        ).token
    return {"Authorization": f"Bearer {token}"}


def test_create_builds_membership_and_reports_size(
    client: TestClient, ctx: Context, writer: dict[str, str]
) -> None:
    people = Population(ctx)
    for plan in ("pro", "PRO", "free"):
        people.profile({"plan": plan})
    created = client.post("/api/segments", json=PRO, headers=writer)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1
    assert created.json()["size"] == 2
    got = client.get("/api/segments/pro", headers=writer).json()
    assert got["size"] == 2 and got["rule"] == {"trait": "plan", "op": "eq", "value": "pro"}
    assert [s["key"] for s in client.get("/api/segments", headers=writer).json()] == ["pro"]


def test_updates_are_new_versions_and_rebuild_membership(
    client: TestClient, ctx: Context, writer: dict[str, str]
) -> None:
    people = Population(ctx)
    people.profile({"plan": "pro"})
    free = people.profile({"plan": "free"})
    client.post("/api/segments", json=PRO, headers=writer)
    updated = client.put(
        "/api/segments/pro",
        json={"name": "Free", "rule": {"trait": "plan", "value": "free"}},
        headers=writer,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2 and updated.json()["size"] == 1
    feed = client.get("/api/segments/changes", params={"after": 0}, headers=writer).json()
    assert [(c["change"], c["profile_id"] == free) for c in feed] == [
        ("entered", False),
        ("exited", False),
        ("entered", True),
    ]


def test_members_are_paged_with_a_cursor(
    client: TestClient, ctx: Context, writer: dict[str, str], reader: dict[str, str]
) -> None:
    people = Population(ctx)
    ids = sorted(people.profile({"plan": "pro"}) for _ in range(5))
    client.post("/api/segments", json=PRO, headers=writer)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/segments/pro/members", params=params, headers=reader).json()
        seen += [m["profile_id"] for m in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids and pages == 3
    bad = client.get("/api/segments/pro/members", params={"cursor": "!!"}, headers=reader)
    assert bad.status_code == 400 and bad.json()["field"] == "cursor"


def test_a_bad_rule_is_a_422_problem_naming_the_path(
    client: TestClient, writer: dict[str, str]
) -> None:
    bad = {
        "key": "x",
        "name": "X",
        "rule": {"all": [{"trait": "plan", "value": "pro"}, {"trait": "age", "op": "older"}]},
    }
    response = client.post("/api/segments", json=bad, headers=writer)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["field"] == "rule.all.1.op"
    assert body["problems"][0]["path"] == "rule.all.1.op"
    unknown = client.post(
        "/api/segments",
        json={"key": "y", "name": "Y", "rule": {"segment": "nope"}},
        headers=writer,
    )
    assert unknown.status_code == 422 and "nope" in unknown.json()["detail"]


def test_yaml_documents_are_accepted(client: TestClient, writer: dict[str, str]) -> None:
    document = (
        "key: lapsed\nname: Lapsed buyers\nrule:\n"
        "  last_event: Order Completed\n  within: P30D\n  negate: true\n"
    )
    response = client.post(
        "/api/segments",
        content=document,
        headers={**writer, "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["rule"]["within"] == "P30D"


def test_preview_estimates_without_saving(
    client: TestClient, ctx: Context, reader: dict[str, str]
) -> None:
    people = Population(ctx)
    anna = people.profile({"age": 41})
    people.profile({"age": 19})
    rule = {"trait": "age", "op": "gte", "value": 30}
    preview = client.post("/api/segments/preview", json={"rule": rule}, headers=reader).json()
    assert preview == {"size": 1, "sample": [anna], "evaluated_by": "sql"}
    regex = {"trait": "email", "op": "matches", "value": "@example"}
    by_python = client.post("/api/segments/preview", json={"rule": regex}, headers=reader).json()
    assert by_python["evaluated_by"] == "python" and by_python["size"] == 0
    assert client.get("/api/segments", headers=reader).json() == []


def test_rebuild_delete_and_scopes(
    client: TestClient, ctx: Context, writer: dict[str, str], reader: dict[str, str]
) -> None:
    Population(ctx).profile({"plan": "pro"})
    assert client.post("/api/segments", json=PRO, headers=reader).status_code == 403
    client.post("/api/segments", json=PRO, headers=writer)
    rebuilt = client.post("/api/segments/pro/rebuild", headers=writer).json()
    assert rebuilt == {"key": "pro", "entered": 0, "exited": 0, "size": 1, "evaluated_by": "sql"}
    assert client.post("/api/segments", json=PRO, headers=writer).status_code == 409
    assert client.delete("/api/segments/pro", headers=writer).status_code == 204
    missing = client.get("/api/segments/pro", headers=reader)
    assert missing.status_code == 404 and missing.json()["field"] == "key"
