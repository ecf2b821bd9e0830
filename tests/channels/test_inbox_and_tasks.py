"""The in-app inbox (API with the user's token, server-sent events) and agent hand-off tasks."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from partitur.core.actions import Actor
from tests.channels.conftest import MailSink, make_profile, message, provider, send


def test_the_app_lists_its_users_inbox_and_marks_items_read(
    ctx: Context, client: TestClient, admin_headers: dict[str, str], dispatcher: Dispatcher
) -> None:
    pid = make_profile(ctx, first_name="Jana")
    other = make_profile(ctx)
    send(
        ctx,
        pid,
        "in_app",
        category="transactional",
        payload={"subject": "Order shipped", "text": "On its way", "data": {"order": "A1"}},
    )
    send(ctx, other, "in_app", category="transactional", payload={"text": "not yours"})
    dispatcher.run_once(ctx.clock.now())
    token = client.post(
        "/api/channels/inbox-tokens", json={"profile_id": pid}, headers=admin_headers
    ).json()["token"]
    items = client.get("/api/channels/inbox", headers={"X-Inbox-Token": token}).json()
    assert [(i["title"], i["body"], i["data"]) for i in items] == [
        ("Order shipped", "On its way", {"order": "A1"})
    ]
    marked = client.post(
        "/api/channels/inbox/read", json={"ids": [items[0]["id"]]}, headers={"X-Inbox-Token": token}
    )
    assert marked.json() == {"marked": 1}
    assert (
        client.get("/api/channels/inbox?unread=true", headers={"X-Inbox-Token": token}).json() == []
    )
    assert (
        client.get("/api/channels/inbox", headers={"X-Inbox-Token": token + "x"}).status_code == 403
    )
    assert client.get("/api/channels/inbox").status_code == 401


def test_new_inbox_items_arrive_over_server_sent_events(
    ctx: Context, client: TestClient, dispatcher: Dispatcher
) -> None:
    from partitur.channels import service

    pid = make_profile(ctx)
    send(ctx, pid, "in_app", category="transactional", payload={"text": "first"})
    dispatcher.run_once(ctx.clock.now())
    token = service.inbox_token(
        ctx.settings.secret_key, workspace_id=ctx.workspace_id, profile_id=pid
    )
    with client.stream("GET", f"/api/channels/inbox/stream?token={token}&seconds=0.6") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    events = [block for block in text.split("\n\n") if block.startswith("id:")]
    assert len(events) == 1
    data = json.loads(events[0].split("data: ", 1)[1])
    assert data["body"] == "first"
    last_id = events[0].split("\n")[0].removeprefix("id: ")
    send(ctx, pid, "in_app", category="transactional", payload={"text": "second"})
    dispatcher.run_once(ctx.clock.now())
    with client.stream(
        "GET",
        f"/api/channels/inbox/stream?token={token}&seconds=0.6",
        headers={"Last-Event-ID": last_id},
    ) as stream:
        text = "".join(stream.iter_text())
    assert [
        json.loads(b.split("data: ", 1)[1])["body"]
        for b in text.split("\n\n")
        if b.startswith("id:")
    ] == ["second"]


def test_an_agent_task_carries_full_context_and_is_claimed_then_completed(
    ctx: Context, client: TestClient, admin_headers: dict[str, str], dispatcher: Dispatcher
) -> None:
    pid = make_profile(
        ctx, name="Jana Berg", email="jana@example.com", plan="pro", secret_note="hidden"
    )
    mid = send(
        ctx,
        pid,
        "agent_task",
        journey_id="jrn_churn",
        node_id="handoff",
        priority=7,
        payload={
            "reason": "high churn risk",
            "queue": "sales",
            "suggested_offer": {"code": "STAY20"},
        },
    )
    dispatcher.run_once(ctx.clock.now())
    assert message(ctx, mid).status == "delivered"
    tasks = client.get("/api/channels/tasks?status=open&queue=sales", headers=admin_headers).json()
    assert len(tasks) == 1
    task = tasks[0]
    assert (task["reason"], task["priority"], task["suggested_offer"]) == (
        "high churn risk",
        7,
        {"code": "STAY20"},
    )
    assert task["context"]["profile"]["traits"] == {
        "name": "Jana Berg",
        "email": "jana@example.com",
        "plan": "pro",
    }
    assert task["context"]["journey"] == {"journey_id": "jrn_churn", "node_id": "handoff"}
    claimed = client.post(
        f"/api/channels/tasks/{task['id']}/claim", json={"assignee": "ann"}, headers=admin_headers
    )
    assert claimed.json()["status"] == "claimed"
    taken = client.post(
        f"/api/channels/tasks/{task['id']}/claim", json={"assignee": "bob"}, headers=admin_headers
    )
    assert taken.status_code == 409
    wrong = client.post(
        f"/api/channels/tasks/{task['id']}/complete",
        json={"assignee": "bob", "outcome": "x"},
        headers=admin_headers,
    )
    assert wrong.status_code == 409 and wrong.json()["field"] == "assignee"
    done = client.post(
        f"/api/channels/tasks/{task['id']}/complete",
        json={"assignee": "ann", "outcome": "accepted offer"},
        headers=admin_headers,
    )
    assert (done.json()["status"], done.json()["outcome"]) == ("done", "accepted offer")


def test_the_account_owner_hears_once_when_a_journey_touches_their_customer(
    ctx: Context, smtp_server: MailSink, dispatcher: Dispatcher
) -> None:
    provider(
        ctx,
        channel="email",
        name="l",
        kind="smtp",
        config={"host": smtp_server.host, "port": smtp_server.port},
    )
    pid = make_profile(ctx, name="Big Customer", account_owner_email="owner@acme.test")
    for node in ("n1", "n2"):
        send(ctx, pid, "in_app", journey_id="jrn_upsell", node_id=node, payload={"text": "hi"})
    dispatcher.run_once(ctx.clock.now())
    dispatcher.run_once(ctx.clock.now())
    assert [m["To"] for m in smtp_server.mails] == ["owner@acme.test"]
    assert (
        "jrn_upsell" in smtp_server.mails[0]["Subject"]
        and "Big Customer" in smtp_server.mails[0]["Subject"]
    )


def test_api_send_queues_and_the_dispatch_endpoint_delivers(
    ctx: Context, client: TestClient, admin_headers: dict[str, str]
) -> None:
    pid = make_profile(ctx)
    body = {
        "idempotency_key": "api-1",
        "profile_id": pid,
        "channel": "in_app",
        "category": "transactional",
        "payload": {"text": "hi"},
    }
    first = client.post("/api/channels/messages", json=body, headers=admin_headers)
    assert first.status_code == 202 and first.json()["duplicate"] is False
    assert (
        client.post("/api/channels/messages", json=body, headers=admin_headers).json()["duplicate"]
        is True
    )
    report = client.post("/api/channels/dispatch", headers=admin_headers).json()
    assert report["delivered"] == 1
    listed = client.get(f"/api/channels/messages?profile_id={pid}", headers=admin_headers).json()
    assert [m["status"] for m in listed["items"]] == ["delivered"]
    bad = client.post(
        "/api/channels/messages", json={**body, "channel": "fax"}, headers=admin_headers
    )
    assert bad.status_code == 422 and bad.json()["field"] == "channel"


def test_an_agent_task_template_is_the_agents_brief_and_is_optional_at_publish(
    ctx: Context, client: TestClient, admin_headers: dict[str, str], dispatcher: Dispatcher
) -> None:
    from partitur.channels import service
    from partitur.channels.contracts import TemplateIn

    with ctx.store.begin() as conn:
        assert (
            service.check_template(
                conn, workspace_id=ctx.workspace_id, key="winback-call", channel="agent_task"
            )
            == []
        )
        service.save_template(
            conn,
            workspace_id=ctx.workspace_id,
            template=TemplateIn(
                key="winback-call",
                channel="agent_task",
                subject="Call {{ profile.name }}",
                body_text="Offer {{ offer }}",
                sample_data={"offer": "x"},
            ),
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    pid = make_profile(ctx, name="Jana")
    send(
        ctx,
        pid,
        "agent_task",
        template="winback-call",
        data={"offer": "STAY20"},
        payload={"queue": "retention"},
        category="transactional",
    )
    dispatcher.run_once(ctx.clock.now())
    task = client.get("/api/channels/tasks?queue=retention", headers=admin_headers).json()[0]
    assert (task["reason"], task["context"]["brief"]) == ("Call Jana", "Offer STAY20")
