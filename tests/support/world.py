"""Two workspaces with one of every kind of object the API names by id or key, made through
the API where it can be: the sealed-workspace test attacks B from A with them, the fuzz test and
bench feed their ids to generated requests so that those reach past the lookups."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from partitur.access import service as access
from partitur.access.contracts import Scope
from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.identity.loops import IdentityResolver
from partitur.ml import registry
from partitur.workspaces import service as workspaces

#: written into every name, title and trait of workspace B: no answer to A may contain it
B_MARK = "Sealed-B"

#: what a path or query parameter names, by the parameter's name and the path it is on
#: (``(name, path prefix)`` wins over ``name``)
PARAMETER_KINDS: dict[str | tuple[str, str], str] = {
    "profile_id": "profile",
    "message_id": "message",
    "task_id": "task",
    "source_id": "source",
    "token_id": "token",
    "journey_id": "journey_id",
    "split_node": "split_node",
    "insight_id": "insight",
    ("user_id", "/api/users/"): "user",
    "session_id": "session",
    "submission_id": "submission",
    ("name", "/api/ml/models/"): "model",
    ("version", "/api/ml/models/"): "model_version",
    ("key", "/api/segments/"): "segment",
    ("key", "/api/journeys/"): "journey",
    ("key", "/api/channels/templates/"): "template",
    ("key", "/api/decisions/catalogue/"): "offer",
    ("key", "/api/maps/"): "map",
    ("ids", "/api/profiles/summaries"): "profile",
    ("email", "/api/profiles"): "email",
}


@dataclass
class Ids:
    """One workspace's objects, by kind."""

    workspace_id: str
    headers: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    inbox_token: str = ""
    #: the write key of its source (the tracking API's credential)
    write_key: str = ""

    def __getitem__(self, kind: str) -> Any:
        return self.values[kind]


def lookup(table: dict[str | tuple[str, str], str], name: str, path: str) -> str | None:
    """``table``'s value for parameter ``name`` on ``path``: ``(name, path prefix)`` entries
    first (the longest prefix wins), then ``name``."""
    scoped = [(k[1], v) for k, v in table.items() if isinstance(k, tuple) and k[0] == name]
    for prefix, value in sorted(scoped, key=lambda kv: -len(kv[0])):
        if path.startswith(prefix) or path == prefix.rstrip("/"):
            return value
    return table.get(name)


def journey_document(key: str, name: str, split: str, template: str) -> dict[str, Any]:
    """A manual-entry journey: an A/B split ``split``, a send of ``template`` and an exit."""
    return {
        "key": key,
        "name": name,
        "entry": {"type": "manual"},
        "start": split,
        "nodes": [
            {
                "id": split,
                "type": "split",
                "variants": [
                    {"key": "short", "weight": 1, "next": "hello"},
                    {"key": "long", "weight": 1, "next": "bye"},
                ],
            },
            {
                "id": "hello",
                "type": "send",
                "channel": "email",
                "template": template,
                "next": "bye",
            },
            {"id": "bye", "type": "exit"},
        ],
    }


def check(response: Any, *statuses: int) -> Any:
    """The answer's JSON, after asserting its status (200 unless given)."""
    assert response.status_code in (statuses or (200,)), (response.request.url, response.text)
    return response.json() if response.content else None


def furnish(ctx: Context, client: TestClient, ids: Ids, tag: str, mark: str) -> None:
    """One of every kind of object in ``ids``'s workspace, made through the API where it can be
    (names and traits carry ``mark``)."""
    h = ids.headers
    post, put = client.post, client.put
    source = check(post("/api/sources", json={"name": f"{tag}-web"}, headers=h), 201)
    token = check(
        post("/api/tokens", json={"name": f"{tag}-ci", "scopes": ["read"]}, headers=h), 201
    )
    email = f"{tag}.customer@{tag}-workspace.example"
    check(
        post(
            "/v1/identify",
            json={
                "userId": f"{tag}-user",
                "traits": {"email": email, "name": f"{mark} Customer", "plan": "pro"},
            },
            auth=(source["write_key"], ""),
        )
    )
    check(
        post(
            "/v1/track",
            json={
                "userId": f"{tag}-user",
                "event": "Order Completed",
                "properties": {"revenue": 10},
            },
            auth=(source["write_key"], ""),
        )
    )
    IdentityResolver(ctx).run_until_idle()
    profile = check(client.get("/api/profiles", params={"email": email}, headers=h))["id"]
    segment = f"{tag}-vip"
    check(
        post(
            "/api/segments",
            json={
                "key": segment,
                "name": f"{mark} VIPs",
                "rule": {"trait": "plan", "op": "eq", "value": "pro"},
            },
            headers=h,
        ),
        201,
    )
    check(post(f"/api/segments/{segment}/rebuild", headers=h))
    template = f"{tag}-hello"
    check(
        put(
            "/api/channels/templates",
            json={
                "key": template,
                "channel": "email",
                "subject": f"{mark} news",
                "body_text": f"{mark} hello",
            },
            headers=h,
        )
    )
    layout = f"{tag}-layout"
    check(
        put(
            "/api/channels/templates",
            json={
                "key": layout,
                "kind": "layout",
                "channel": "email",
                "body_html": f"<p>{mark}</p>{{{{ content }}}}",
            },
            headers=h,
        )
    )
    group = f"{tag}-news"
    check(
        post(
            "/api/channels/groups",
            json={"key": group, "name": f"{mark} news", "channel": "email"},
            headers=h,
        ),
        201,
    )
    check(
        post(
            "/api/channels/consents",
            json={"profile_id": profile, "channel": "email", "status": "granted"},
            headers=h,
        )
    )
    check(
        put(
            "/api/channels/providers",
            json={
                "channel": "webhook",
                "name": f"{tag}-crm",
                "kind": "webhook",
                "config": {"url": f"http://127.0.0.1:9/{tag}-hook"},
            },
            headers=h,
        )
    )
    check(
        post(
            "/api/channels/devices",
            json={"profile_id": profile, "token": f"{tag}-device", "platform": "ios"},
            headers=h,
        ),
        204,
    )
    inbox_token = check(
        post("/api/channels/inbox-tokens", json={"profile_id": profile}, headers=h)
    )["token"]
    message = check(
        post(
            "/api/channels/messages",
            json={
                "idempotency_key": f"{tag}-1",
                "profile_id": profile,
                "channel": "email",
                "template": template,
            },
            headers=h,
        ),
        202,
    )["id"]
    for channel, payload in (
        ("agent_task", {"reason": f"{mark} callback", "queue": "care"}),
        ("in_app", {"text": f"{mark} hi"}),
    ):
        check(
            post(
                "/api/channels/messages",
                json={
                    "idempotency_key": f"{tag}-{channel}",
                    "profile_id": profile,
                    "channel": channel,
                    "category": "transactional",
                    "payload": payload,
                },
                headers=h,
            ),
            202,
        )
    journey, split = f"{tag}-welcome", f"{tag}-split"
    check(
        post(
            "/api/journeys",
            json=journey_document(journey, f"{mark} welcome", split, template),
            headers=h,
        ),
        201,
    )
    check(post(f"/api/journeys/{journey}/publish", headers=h), 201)
    check(post(f"/api/journeys/{journey}/enrolments", json={"profile_ids": [profile]}, headers=h))
    journey_id = check(client.get(f"/api/journeys/{journey}", headers=h))["id"]
    map_key, insight = f"{tag}-purchase", f"{tag}-slow"
    check(
        post(
            "/api/maps",
            json={
                "key": map_key,
                "name": f"{mark} purchase",
                "stages": [
                    {
                        "key": "purchase",
                        "pain_points": [
                            {
                                "id": insight,
                                "title": f"{mark} slow",
                                "linked_journey": journey,
                                "linked_at": "2025-12-01T00:00:00Z",
                            }
                        ],
                    }
                ],
            },
            headers=h,
        ),
        201,
    )
    check(post(f"/api/maps/{map_key}/comments", json={"body": f"{mark} comment"}, headers=h), 201)
    # the map A's controls make a child map of (B's counterpart is its main map)
    parent_map = f"{tag}-parent"
    if tag == "a":
        check(post("/api/maps", json={"key": parent_map, "name": "Parent"}, headers=h), 201)
    else:
        parent_map = map_key
    offer = f"{tag}-stay"
    check(put(f"/api/decisions/catalogue/{offer}", json={"name": f"{mark} offer"}, headers=h))
    model = f"{tag}-churn"
    with ctx.store.begin() as conn:
        version = registry.register_model(
            conn,
            workspace_id=ids.workspace_id,
            name=model,
            kind="test",
            params={},
            metrics={},
            files={},
            var_dir=ctx.settings.var_dir,
            now=ctx.clock.now(),
            activate=False,
            actor=Actor.system(ids.workspace_id, "test"),
        ).version
    invited = {"email": f"analyst@{tag}-workspace.example", "role": "analyst", "name": mark}
    user = check(post("/api/users", json=invited, headers=h), 201)["user"]["id"]
    robot = {"name": f"{mark} robot", "role": "analyst"}
    service_account = check(post("/api/service-accounts", json=robot, headers=h), 201)["id"]
    # a browser session of the workspace (signed in with its admin token)
    session = check(post("/api/session", json={"token": h["Authorization"][7:]}))["session_id"]
    client.cookies.clear()
    # a draft after the published version, submitted for a second person's approval
    draft = journey_document(journey, f"{mark} welcome again", split, template)
    check(post("/api/journeys", json=draft, headers=h), 201)
    submission = check(post(f"/api/journeys/{journey}/submissions", json={}, headers=h), 201)["id"]
    ids.inbox_token = inbox_token
    ids.write_key = source["write_key"]
    ids.values |= {
        "profile": profile,
        "email": email,
        "source": source["id"],
        "token": token["id"],
        "segment": segment,
        "template": template,
        "group": group,
        "layout": layout,
        "message": message,
        "journey": journey,
        "journey_id": journey_id,
        "split_node": split,
        "map": map_key,
        "parent_map": parent_map,
        "insight": insight,
        "offer": offer,
        "model": model,
        "model_version": version,
        "user": user,
        "service_account": service_account,
        "session": session,
        "submission": submission,
    }


def after_dispatch(client: TestClient, ids: Ids) -> None:
    """The agent task and the inbox item the dispatcher made of the workspace's sends."""
    tasks = check(client.get("/api/channels/tasks", headers=ids.headers))
    inbox = check(client.get("/api/channels/inbox", headers={"X-Inbox-Token": ids.inbox_token}))
    (task,) = tasks
    (item,) = inbox
    ids.values |= {"task": task["id"], "inbox_item": item["id"]}


def admin_headers(ctx: Context, workspace_id: str) -> dict[str, str]:
    """Headers with a new admin token of the workspace."""
    with ctx.store.begin() as conn:
        token = access.create_token(
            conn,
            workspace_id=workspace_id,
            name="admin",
            scopes=[Scope.admin],
            now=ctx.clock.now(),
            actor=Actor.system(workspace_id, "test"),
        ).token
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    """Two workspaces; A is the one the app serves (``ctx.workspace_id``)."""

    a: Ids
    b: Ids


def build_world(ctx: Context, client: TestClient) -> World:
    """Workspace A (the served one, names marked ``Workspace-A``) and B (``B_MARK``), each with
    one of every kind of object; the client's cookies are left empty."""
    with ctx.store.begin() as conn:
        other = workspaces.ensure_workspace(conn, name="sealed-b", now=ctx.clock.now()).id
    a = Ids(ctx.workspace_id, admin_headers(ctx, ctx.workspace_id))
    b = Ids(other, admin_headers(ctx, other))
    furnish(ctx, client, a, "a", "Workspace-A")
    furnish(ctx, client, b, "b", B_MARK)
    dispatcher = Dispatcher(ctx)
    try:
        dispatcher.run_once(ctx.clock.now())
    finally:
        dispatcher.close()
    after_dispatch(client, a)
    after_dispatch(client, b)
    ctx.clock.advance(timedelta(minutes=1))
    return World(a, b)
